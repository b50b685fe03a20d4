// lib.mjs - what the browser tests share.
import readline from 'node:readline';

// Resolves with the match of the first line of stream that matches re; rejects, with the lines seen,
// when ms pass first or proc (the process writing stream) exits first.
export function waitLine(proc, stream, re, ms = 15000) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: stream });
    const seen = [];
    const t = setTimeout(() => { rl.close(); reject(new Error(`timed out waiting for ${re}; got:\n${seen.join('\n')}`)); }, ms);
    const onExit = (code) => { clearTimeout(t); reject(new Error(`process exited (${code}) before ${re}; got:\n${seen.join('\n')}`)); };
    proc.once('exit', onExit);
    rl.on('line', (l) => {
      seen.push(l);
      const m = l.match(re);
      if (m) { clearTimeout(t); proc.off('exit', onExit); rl.removeAllListeners('line'); resolve(m); }
    });
  });
}
