// vtable.js - a table that draws only the rows in view: the data is an array of any length, every row
// has one height, and the scroll bar is the whole list's while the DOM holds a hundred rows or so.
// Sorting and filtering happen on the array before it is handed over; this only draws.
//
// Two ways to stand for the rows not drawn:
// - margins (the default): the table's top and bottom margins, with the row height measured from the
//   first row drawn; the table stays a table, so its columns may size to their content.
// - placed (rowHeight given): every row is absolutely placed at its index (its top) in a body as
//   tall as the whole list, and is a box of fixed size (contain: strict, see app.css), the columns a
//   grid from the table's --vt-cols.  Drawing a row then lays out and paints that row only: a table's
//   rows, however fixed its layout, are laid out again together whenever one comes or goes, which
//   at thirty columns made every wheel turn a long task.
//
// Placed rows may also be drawn with only the columns in view (give set() the columns' widths):
// renderRow(item, i, [c0, c1]) then draws columns c0..c1-1, the first on grid column c0 + 1.  A wide
// table of smaps fields is twice the scroller's width, so that halves what each new row costs.
//
// Drawing is incremental, so scrolling and refreshing stay short tasks: while the list is the same,
// a scroll draws only the rows that came into view and removes those that left (a jump past the
// margin draws the view anew; placed rows that left are refilled with those that came in); a new list whose rows in view are the same elements (a renderRow that
// keeps its rows, as the process list's does) changes nothing in the DOM.
import { h, clear } from './dom.js';

// table: the <table>; scroller: the element that scrolls it (overflow: auto, bounded height);
// renderRow(item, i, cols, old) -> <tr>; old (placed rows only): a row no longer in view that
// renderRow may refill and return instead of making a new one.  margin: rows drawn beyond each edge
// of the view, so small scrolls draw nothing.  rowHeight: the rows' height in CSS pixels, to place them (see above); the caller sets the columns
// as the table's --vt-cols (a grid-template-columns).
export function virtualTable(table, scroller, renderRow, { margin = 12, rowHeight = 0 } = {}) {
  const placed = rowHeight > 0;
  let list = [];
  let rowH = rowHeight;  // measured unless placed; 0 until a row was drawn
  let first = 0, last = 0;
  let drawn = [];        // the <tr> of rows first..last-1, in order
  let raf = 0;
  let headH = -1;        // the header's height, measured once per header
  // Where the scroller is and how tall it is, as its scroll events and a ResizeObserver last said:
  // reading scrollTop or clientHeight after the DOM changed would force a layout of the whole page
  // in the middle of drawing (several per load of a large process).  null: not known yet.
  let top = null, viewH = null;
  // Placed rows drawn with some columns only: the columns' widths in px (null: every column), the
  // scroller's horizontal place and width, and the columns drawn now.
  let widths = null, left = 0, viewW = null;
  let cols = [0, 0];
  const thead = h('thead');
  const tbody = h('tbody');
  const ro = typeof ResizeObserver === 'function' ? new ResizeObserver((es) => {
    for (const e of es) {
      if (e.target === scroller) {
        viewH = e.contentRect.height || null;
        viewW = e.contentRect.width || null;
      } else headH = e.borderBoxSize && e.borderBoxSize[0] ? e.borderBoxSize[0].blockSize : e.target.offsetHeight;
    }
  }) : null;
  if (ro) ro.observe(scroller);
  if (placed) {
    table.classList.add('vt-placed');
    table.style.setProperty('--vt-row', `${rowH}px`);
    for (const [el, role] of [[table, 'table'], [thead, 'rowgroup'], [tbody, 'rowgroup']]) el.setAttribute('role', role);
    // the header's height comes from the observer, never from a layout forced while drawing
    if (ro) ro.observe(thead);
  }

  function headHeight() {
    if (headH < 0) headH = thead.offsetHeight || 0;
    return headH;
  }

  // Row i, placed where it belongs when rows are placed.  A display other than a table's takes the
  // table's roles away from the elements in some browsers: they are said again.
  function rowAt(i, old) {
    const tr = renderRow(list[i], i, cols, old);
    if (placed) {
      tr.style.top = `${i * rowH}px`;
      if (!tr.hasAttribute('role')) {
        tr.setAttribute('role', 'row');
        for (const td of tr.children) td.setAttribute('role', 'cell');
      }
      tr.setAttribute('aria-rowindex', String(i + 2));
    }
    return tr;
  }

  // The rows [a, b) that cover the view now.
  function wanted() {
    const hh = rowH || 24;
    // before the first scroll event the scroller is where a new element is, at its top, and before
    // the observer spoke it is at most the window's height: asking it would lay the page out now
    const y = Math.max(0, (top || 0) - (headH < 0 ? 0 : headH));
    const view = viewH || window.innerHeight;
    return [Math.max(0, Math.floor(y / hh)), Math.min(list.length, Math.ceil((y + view) / hh) + 1)];
  }

  // Placed rows a..b-1: those of first..last-1 still wanted stay when the list did not change, the
  // others are handed to renderRow to be refilled where they are (their place in the DOM does not
  // matter, their index is aria-rowindex), so a scroll moves no element; only what renderRow could
  // not refill is added or removed.
  function updatePlaced(a, b, keep) {
    const spare = [];
    const at = new Map();
    drawn.forEach((tr, k) => {
      const i = first + k;
      if (keep && i >= a && i < b) at.set(i, tr);
      else spare.push(tr);
    });
    const frag = document.createDocumentFragment();
    const rows = [];
    for (let i = a; i < b; i++) {
      let tr = at.get(i);
      if (!tr) {
        const old = spare.pop();
        tr = rowAt(i, old);
        if (tr !== old) {
          if (old) old.remove();
          frag.append(tr);
        }
      }
      rows.push(tr);
    }
    for (const tr of spare) tr.remove();
    if (frag.firstChild) tbody.append(frag);
    first = a;
    last = b;
    drawn = rows;
  }

  // Draws rows a..b-1, keeping those of first..last-1 already drawn when the list did not change.
  function update(a, b, keep) {
    if (placed) { updatePlaced(a, b, keep); return; }
    if (keep && a < last && b > first) {
      // drop what left at either end, add what came in at either end
      while (first < a) { drawn.shift().remove(); first++; }
      while (last > b) { drawn.pop().remove(); last--; }
      if (a < first) {
        const frag = document.createDocumentFragment();
        const add = [];
        for (let i = a; i < first; i++) add.push(rowAt(i));
        frag.append(...add);
        tbody.insertBefore(frag, tbody.firstChild);
        drawn = add.concat(drawn);
        first = a;
      }
      if (b > last) {
        const frag = document.createDocumentFragment();
        for (let i = last; i < b; i++) { const tr = rowAt(i); drawn.push(tr); frag.append(tr); }
        tbody.append(frag);
        last = b;
      }
      return;
    }
    const rows = [];
    for (let i = a; i < b; i++) rows.push(rowAt(i));
    first = a;
    last = b;
    // the same elements in the same order (a refresh that changed nothing in view): leave the DOM be
    const kids = tbody.children;
    let same = kids.length === rows.length;
    for (let i = 0; same && i < rows.length; i++) same = kids[i] === rows[i];
    if (!same) tbody.replaceChildren(...rows);
    drawn = rows;
  }

  // The columns [c0, c1) that cover [x0, x1) of the table.
  function colsOver(x0, x1) {
    let c0 = 0, x = 0;
    while (c0 < widths.length - 1 && x + widths[c0] <= x0) x += widths[c0++];
    let c1 = c0;
    while (c1 < widths.length && x < x1) x += widths[c1++];
    return [c0, Math.max(c1, c0 + 1)];
  }

  // Whether the columns drawn still cover the view; if not, the columns to draw, a quarter of a view
  // beyond each side of it, so scrolling sideways draws again only every quarter view.
  function colsWanted() {
    if (!widths) return cols[1] === Infinity ? null : [0, Infinity];
    const w = viewW || window.innerWidth;
    const [n0, n1] = colsOver(left, left + w);
    if (n0 >= cols[0] && n1 <= cols[1]) return null;
    return colsOver(left - w / 4, left + 1.25 * w);
  }

  function paint(force) {
    const cw = colsWanted();
    if (cw) {
      cols = cw;
      force = true;
    }
    const [va, vb] = wanted();
    if (!force && va >= first && vb <= last && last > first) return;
    update(Math.max(0, va - margin), Math.min(list.length, vb + margin), !force);
    if (placed) {
      const height = `${list.length * rowH}px`;
      if (tbody.style.height !== height) tbody.style.height = height;
      return;
    }
    if (!rowH && last > first) {
      rowH = tbody.firstChild.getBoundingClientRect().height || 24;
      headHeight();
      paint(true);   // the guess of the height was a guess: draw again with the real one
      return;
    }
    const hh = rowH || 24;
    const top = `${first * hh}px`, bottom = `${(list.length - last) * hh}px`;
    if (table.style.marginTop !== top) table.style.marginTop = top;
    if (table.style.marginBottom !== bottom) table.style.marginBottom = bottom;
  }

  function onScroll() {
    top = scroller.scrollTop;
    left = scroller.scrollLeft;
    if (raf) return;
    raf = requestAnimationFrame(() => {
      raf = 0;
      paint(false);
    });
  }
  scroller.addEventListener('scroll', onScroll, { passive: true });

  return {
    // headRow: the header's <tr> (the same one again leaves the header as it is); items: the rows in
    // display order; colWidths: the columns' widths in px, to draw only those in view (placed rows)
    set(headRow, items, caption, colWidths = null) {
      list = items;
      if (placed && String(colWidths) !== String(widths)) {
        widths = colWidths;
        cols = [0, 0];
        if (widths) table.setAttribute('aria-colcount', String(widths.length));
      }
      if (thead.firstChild !== headRow || thead.childNodes.length !== 1) {
        clear(thead).append(headRow);
        if (placed) {
          headRow.setAttribute('role', 'row');
          for (const th of headRow.children) th.setAttribute('role', 'columnheader');
        } else headH = -1;
      }
      if (placed) table.setAttribute('aria-rowcount', String(items.length + 1));
      const want = caption ? [caption, thead, tbody] : [thead, tbody];
      const kids = table.childNodes;
      if (kids.length !== want.length || want.some((n, i) => kids[i] !== n)) {
        table.replaceChildren(...want);
        if (!placed) headH = -1;
      }
      paint(true);
    },
    scrollTo(y) {
      scroller.scrollTop = y;
      top = Math.max(0, y);   // a clamped value comes back with the scroll event
      paint(false);
    },
    // Brings row i into view (a third of the way down) and draws it now, not on the next frame.
    scrollToIndex(i) {
      const hh = rowH || 24;
      scroller.scrollTop = Math.max(0, headHeight() + i * hh - scroller.clientHeight / 3);
      top = scroller.scrollTop;
      paint(false);
    },
    get rendered() {
      return [first, last];
    },
    destroy() {
      if (ro) ro.disconnect();
      scroller.removeEventListener('scroll', onScroll);
      if (raf) cancelAnimationFrame(raf);
    },
  };
}
