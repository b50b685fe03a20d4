// vtable.js - a table that draws only the rows in view: the data is an array of any length, every row
// has one height (measured from the first row drawn), and the table's top and bottom margins stand for
// the rows above and below (no spacer rows, so every row in the body is a row of data), so the scroll
// bar is the whole list's while the DOM holds a hundred rows or so.  Sorting and
// filtering happen on the array before it is handed over; this only draws.
import { h, clear } from './dom.js';

// table: the <table>; scroller: the element that scrolls it (overflow: auto, bounded height);
// renderRow(item) -> <tr>.  margin: rows drawn beyond each edge of the view, so small scrolls draw nothing.
export function virtualTable(table, scroller, renderRow, { margin = 30 } = {}) {
  let list = [];
  let rowH = 0;          // measured; 0 until a row was drawn
  let first = 0, last = 0;
  let raf = 0;
  const thead = h('thead');
  const tbody = h('tbody');

  function headHeight() {
    return thead.offsetHeight || 0;
  }

  // The rows [a, b) that cover the view now.
  function wanted() {
    const hh = rowH || 24;
    const y = Math.max(0, scroller.scrollTop - headHeight());
    const view = scroller.clientHeight || window.innerHeight;
    return [Math.max(0, Math.floor(y / hh)), Math.min(list.length, Math.ceil((y + view) / hh) + 1)];
  }

  function paint(force) {
    const [va, vb] = wanted();
    if (!force && va >= first && vb <= last && last > first) return;
    first = Math.max(0, va - margin);
    last = Math.min(list.length, vb + margin);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(renderRow(list[i], i));
    clear(tbody);
    tbody.append(frag);
    if (!rowH && last > first) {
      rowH = tbody.firstChild.getBoundingClientRect().height || 24;
      paint(true);   // the guess of the height was a guess: draw again with the real one
      return;
    }
    const hh = rowH || 24;
    table.style.marginTop = `${first * hh}px`;
    table.style.marginBottom = `${(list.length - last) * hh}px`;
  }

  function onScroll() {
    if (raf) return;
    raf = requestAnimationFrame(() => {
      raf = 0;
      paint(false);
    });
  }
  scroller.addEventListener('scroll', onScroll, { passive: true });

  return {
    // headRow: the header's <tr>; items: the rows in display order
    set(headRow, items, caption) {
      list = items;
      clear(thead).append(headRow);
      clear(table).append(caption || '', thead, tbody);
      paint(true);
    },
    scrollTo(y) {
      scroller.scrollTop = y;
      paint(false);
    },
    // Brings row i into view (a third of the way down) and draws it now, not on the next frame.
    scrollToIndex(i) {
      const hh = rowH || 24;
      scroller.scrollTop = Math.max(0, headHeight() + i * hh - scroller.clientHeight / 3);
      paint(false);
    },
    get rendered() {
      return [first, last];
    },
    destroy() {
      scroller.removeEventListener('scroll', onScroll);
      if (raf) cancelAnimationFrame(raf);
    },
  };
}
