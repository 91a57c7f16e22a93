/**
 * TensorFlow's GraphDef in protocol-buffer wire format, written by hand: the few messages a graph of recorded ops
 * needs (GraphDef, NodeDef, AttrValue, TensorShapeProto, TensorProto; tensorflow/core/framework/*.proto), so that
 * the addon can import it (TF_GraphImportGraphDef) without the workbook depending on a protobuf library. Inputs are
 * written "node:index", as a GraphDef wants them; TensorFlow fills in the attributes that have defaults.
 */

/** TensorFlow's DataType numbers (types.proto), the same as the C API's TF_DataType. */
export const DT = { float: 1, int32: 3, uint8: 4, string: 7, int64: 9, bool: 10 } as const;

/** An attribute value: one of AttrValue's cases. */
export type AttrValue =
  | { s: string }
  | { i: number }
  | { f: number }
  | { b: boolean }
  | { type: number }
  | { shape: readonly number[] }
  | { tensor: ConstTensor }
  | { list: { s?: readonly string[]; i?: readonly number[]; f?: readonly number[]; b?: readonly boolean[]; type?: readonly number[] } };

/** A constant's value: its DataType, shape and bytes (little-endian, row-major), as TensorProto's tensor_content. */
export interface ConstTensor {
  dtype: number;
  shape: readonly number[];
  content: Uint8Array;
}

export interface GraphNode {
  name: string;
  op: string;
  /** "node:index" of each input, in the op's order. */
  inputs: readonly string[];
  attrs: Readonly<Record<string, AttrValue>>;
}

/** The version of the GraphDefs written here (GraphDef.versions.producer): TensorFlow 2.21's TF_GRAPH_DEF_VERSION. */
export const GRAPH_DEF_PRODUCER = 2474;

/** Appends protocol-buffer fields to a growing byte list. */
class Writer {
  readonly bytes: number[] = [];

  varint(value: number | bigint): void {
    // int64 fields: negative numbers are ten bytes of two's complement
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      this.bytes.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
  }

  tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  /** A length-delimited field: bytes, a string (UTF-8) or a nested message. */
  bytesField(field: number, value: Uint8Array | number[]): void {
    this.tag(field, 2);
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
  }

  string(field: number, value: string): void {
    this.bytesField(field, Array.from(new TextEncoder().encode(value)));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytesField(field, inner.bytes);
  }

  int(field: number, value: number): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const buf = new DataView(new ArrayBuffer(4));
    buf.setFloat32(0, value, true);
    for (let k = 0; k < 4; k++) this.bytes.push(buf.getUint8(k));
  }

  /** A packed repeated varint field (int64, enum, bool). */
  packedVarints(field: number, values: readonly (number | boolean)[]): void {
    const inner = new Writer();
    for (const v of values) inner.varint(typeof v === "boolean" ? (v ? 1 : 0) : v);
    this.bytesField(field, inner.bytes);
  }

  packedFloats(field: number, values: readonly number[]): void {
    const inner = new Writer();
    const buf = new DataView(new ArrayBuffer(4));
    for (const v of values) {
      buf.setFloat32(0, v, true);
      for (let k = 0; k < 4; k++) inner.bytes.push(buf.getUint8(k));
    }
    this.bytesField(field, inner.bytes);
  }
}

function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new Error(`GraphDef: ${what} must be an integer, got ${value}`);
}

// TensorShapeProto: dim = 2 (Dim: size = 1).
function writeShape(w: Writer, shape: readonly number[]): void {
  for (const size of shape) {
    checkInteger(size, "a dimension");
    w.message(2, (d) => d.int(1, size));
  }
}

// TensorProto: dtype = 1, tensor_shape = 2, tensor_content = 4.
function writeTensor(w: Writer, t: ConstTensor): void {
  w.int(1, t.dtype);
  w.message(2, (s) => writeShape(s, t.shape));
  if (t.content.length > 0) w.bytesField(4, t.content);
}

// AttrValue: list = 1, s = 2, i = 3, f = 4, b = 5, type = 6, shape = 7, tensor = 8.
// ListValue: s = 2, i = 3, f = 4, b = 5, type = 6 (numbers packed).
function writeAttr(w: Writer, value: AttrValue): void {
  if ("s" in value) w.string(2, value.s);
  else if ("i" in value) {
    checkInteger(value.i, "an int attribute");
    w.int(3, value.i);
  } else if ("f" in value) w.float(4, value.f);
  else if ("b" in value) w.int(5, value.b ? 1 : 0);
  else if ("type" in value) w.int(6, value.type);
  else if ("shape" in value) w.message(7, (s) => writeShape(s, value.shape));
  else if ("tensor" in value) w.message(8, (t) => writeTensor(t, value.tensor));
  else {
    // an empty list is still a list: the field is written with no elements
    const { s, i, f, b, type } = value.list;
    w.message(1, (l) => {
      for (const item of s ?? []) l.string(2, item);
      if (i?.length) {
        i.forEach((v) => checkInteger(v, "an int list attribute"));
        l.packedVarints(3, i);
      }
      if (f?.length) l.packedFloats(4, f);
      if (b?.length) l.packedVarints(5, b);
      if (type?.length) l.packedVarints(6, type);
    });
  }
}

// NodeDef: name = 1, op = 2, input = 3, attr = 5 (map entries: key = 1, value = 2).
function writeNode(w: Writer, node: GraphNode): void {
  w.string(1, node.name);
  w.string(2, node.op);
  for (const input of node.inputs) w.string(3, input);
  for (const key of Object.keys(node.attrs).sort()) {
    w.message(5, (entry) => {
      entry.string(1, key);
      entry.message(2, (a) => writeAttr(a, node.attrs[key]!));
    });
  }
}

/** A serialized GraphDef of `nodes` (GraphDef: node = 1, versions = 4; VersionDef: producer = 1). */
export function encodeGraphDef(nodes: readonly GraphNode[]): Uint8Array {
  const w = new Writer();
  for (const node of nodes) w.message(1, (n) => writeNode(n, node));
  w.message(4, (v) => v.int(1, GRAPH_DEF_PRODUCER));
  return Uint8Array.from(w.bytes);
}

/** A serialized NodeDef (for tests that compare the bytes with TensorFlow's own). */
export function encodeNodeDef(node: GraphNode): Uint8Array {
  const w = new Writer();
  writeNode(w, node);
  return Uint8Array.from(w.bytes);
}
