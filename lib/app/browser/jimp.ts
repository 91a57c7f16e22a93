/**
 * jimp in the web page: jimp's own core with its JPEG (jpeg-js) and PNG (pngjs) formats, the decoders and encoder
 * that the library's poster and heat-map code uses in Node. The package's browser entry is a stub, and its full
 * entry brings plugins and fonts the library never uses, so ../bundle.ts bundles this in place of "jimp".
 */
import { createJimp } from "@jimp/core";
import jpeg from "@jimp/js-jpeg";
import png from "@jimp/js-png";

// the library's code is type-checked against "jimp" itself; this is only what the bundle gives it in the page
export const Jimp: unknown = createJimp({ formats: [jpeg, png], plugins: [] });
