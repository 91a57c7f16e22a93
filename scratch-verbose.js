const tf = require("@tensorflow/tfjs");
const { selectBackend } = require("/work/main/dist/lib/runtime/backend");
const { buildCnn } = require("/work/main/dist/lib/models/coursework");
(async () => {
  await selectBackend({ force: "tensorflow" });
  const m = buildCnn({ imageSize: 64, seed: 1 });
  const x = tf.randomUniform([64, 64, 64, 3]);
  for (let i = 0; i < 4; i++) { const y = m.apply(x, { training: false }); await y.data(); y.dispose(); }
})();
