// gone.js - what every per-process view shows when its process exits under it: the last reading
// stays on screen under a notice, and auto-refresh stops.
import { h } from './dom.js';

export function gone(root, pid, app) {
  for (const m of root.querySelectorAll('.msg.gone')) m.remove();
  const box = h('div', { class: 'msg warn gone', role: 'alert' },
    `Process ${pid} has exited. What is shown is the last reading. `, h('a', { href: '#/', text: 'Back to the process list' }));
  root.prepend(box);
  app.stopAuto();
}
