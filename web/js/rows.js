// rows.js - the regions of /smaps?layout=rows as the objects the views read.  That answer writes each
// region as one array (its order named once by the answer's "columns" and "fields"), a quarter of
// the bytes of the object layout.  The parsing worker packs the arrays by column (pack): figures in
// one Float64Array, the few distinct perms, devices, paths, kinds and VmFlags as indexes into a
// list of each, addresses as one string per chunk.  Handing that to the page costs a fraction of
// 100,000 arrays of strings, and so does the garbage.  Here each region is a small object over its
// chunk, read through getters (start, end, size, perms, offset, dev, inode, path, deleted, kind,
// vm_flags, path_hex, rss, ...), which builds its `fields` object only when asked.

// The head columns the answer names, in its order (server/encode.c writes them so).
const HEAD = ['start', 'end', 'size', 'perms', 'offset', 'dev', 'inode', 'path', 'deleted', 'kind'];
const NUMS = [2, 4, 6];                            // size, offset, inode: into the figures
const SHARED = { perms: 3, dev: 5, path: 7, kind: 9 };  // few distinct values: into lists

// Rows i0..i1 of an answer with nf field columns, packed by column.  A row with something the packing
// does not hold (a figure that is not a number, the trailing object) is also kept whole in `whole`.
export function pack(rows, i0, i1, nf) {
  const n = i1 - i0, K = NUMS.length + nf, nh = HEAD.length;
  const nums = new Float64Array(n * K);
  const starts = new Array(n), ends = new Array(n);
  const deleted = new Uint8Array(n);
  const lists = {}, idx = {}, seen = {};
  for (const k of [...Object.keys(SHARED), 'vm_flags']) { lists[k] = []; idx[k] = new Uint32Array(n); seen[k] = new Map(); }
  const put = (k, i, v) => {
    let j = seen[k].get(v);
    if (j === undefined) { j = lists[k].length; lists[k].push(v); seen[k].set(v, j); }
    idx[k][i] = j;
  };
  const whole = {};
  for (let i = 0; i < n; i++) {
    const r = rows[i0 + i];
    starts[i] = r[0];
    ends[i] = r[1];
    deleted[i] = r[8] ? 1 : 0;
    for (const k in SHARED) put(k, i, r[SHARED[k]]);
    put('vm_flags', i, r[nh + nf]);
    let odd = r.length > nh + nf + 1;
    for (let c = 0; c < NUMS.length; c++) nums[i * K + c] = r[NUMS[c]];
    for (let f = 0; f < nf; f++) {
      const v = r[nh + f];
      if (typeof v === 'number') nums[i * K + NUMS.length + f] = v;
      else { nums[i * K + NUMS.length + f] = NaN; if (v !== null) odd = true; }
    }
    if (odd) whole[i] = r;
  }
  return { n, K, nums, starts: starts.join('\n'), ends: ends.join('\n'), deleted, lists, idx, whole };
}

// The transferable parts of a packed chunk (postMessage moves them instead of copying).
export function packedBuffers(p) {
  return [p.nums.buffer, p.deleted.buffer, ...Object.values(p.idx).map((a) => a.buffer)];
}

// Wraps an answer's regions in place (once: the same answer object may come back unchanged) and
// returns the answer.  Its regions come packed from the worker (answer.packed), or as the arrays
// of the answer itself where the page parsed it.
export function rowRegions(answer) {
  if (!answer || answer.layout !== 'rows' || answer.rowsWrapped) return answer;
  const fields = answer.fields || [];
  let chunks = answer.packed;
  if (!chunks) {
    const rows = answer.regions || [];
    chunks = [];
    for (let i = 0; i < rows.length; i += 2000) chunks.push(pack(rows, i, Math.min(rows.length, i + 2000), fields.length));
  }
  const Row = rowClass(fields);
  const out = [];
  for (const c of chunks) {
    c.starts = c.n ? c.starts.split('\n') : [];
    c.ends = c.n ? c.ends.split('\n') : [];
    for (let i = 0; i < c.n; i++) out.push(new Row(c, i));
  }
  answer.regions = out;
  answer.packed = null;
  answer.rowsWrapped = true;
  return answer;
}

function rowClass(fields) {
  const nh = HEAD.length;
  const colOf = new Map(fields.map((f, i) => [f, i]));
  class Row {
    constructor(c, i) { this.c = c; this.i = i; }
    get start() { return this.c.starts[this.i]; }
    get end() { return this.c.ends[this.i]; }
    get size() { return this.c.nums[this.i * this.c.K]; }
    get offset() { return this.c.nums[this.i * this.c.K + 1]; }
    get inode() { return this.c.nums[this.i * this.c.K + 2]; }
    get deleted() { return this.c.deleted[this.i] === 1; }
    get vm_flags() { return this.c.lists.vm_flags[this.c.idx.vm_flags[this.i]]; }
    // What did not fit the columns (path_hex, fields the first region lacked), or null.
    get more() {
      const r = this.c.whole[this.i];
      const m = r && r[nh + fields.length + 1];
      return m && typeof m === 'object' ? m : null;
    }
    get path_hex() { const m = this.more; return m ? m.path_hex : undefined; }
    // One smaps field (bytes, or a count for the few that are counts); undefined when absent.
    field(k) {
      const f = colOf.get(k);
      const r = this.c.whole[this.i];
      if (f !== undefined) {
        const v = r ? r[nh + f] : this.c.nums[this.i * this.c.K + NUMS.length + f];
        if (v !== null && !Number.isNaN(v)) return v;
      }
      const m = this.more;
      return m && k in m && k !== 'path_hex' ? m[k] : undefined;
    }
    // Every field as the object layout's `fields`: built when first asked, then kept.
    get fields() {
      if (this._f) return this._f;
      const o = {};
      for (const k of fields) { const v = this.field(k); if (v !== undefined) o[k] = v; }
      const m = this.more;
      if (m) for (const k of Object.keys(m)) if (k !== 'path_hex') o[k] = m[k];
      this._f = o;
      return o;
    }
  }
  for (const k of Object.keys(SHARED)) Object.defineProperty(Row.prototype, k, { get() { return this.c.lists[k][this.c.idx[k][this.i]]; } });
  // the fields as properties too (rss, pss, ...), where a name is not a column's already (size)
  for (const k of fields) {
    if (k in Row.prototype) continue;
    Object.defineProperty(Row.prototype, k, { get() { return this.field(k); } });
  }
  return Row;
}
