/**
 * A minimal terminal: replays what a program wrote to a TTY (text, CR/LF and the cursor and erase
 * sequences that progress bars use) and returns the screen a user is left looking at. Enough for
 * cli-progress and readline; colours and other SGR sequences are ignored.
 */
export function renderScreen(output: string, columns = 120): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = () => {
    while (lines.length <= row) lines.push([]);
    return lines[row];
  };
  const put = (ch: string) => {
    if (col >= columns) return; // line wrapping off, as cli-progress sets it
    const l = line();
    while (l.length < col) l.push(' ');
    l[col++] = ch;
  };
  let i = 0;
  while (i < output.length) {
    const ch = output[i];
    if (ch === '\x1b') {
      // eslint-disable-next-line no-control-regex -- escape sequences are what this parses
      const csi = /^\x1b\[(\??)([\d;]*)([A-Za-z])/.exec(output.slice(i));
      if (csi) {
        const n = csi[2] === '' ? null : Number(csi[2].split(';')[0]);
        if (!csi[1]) {
          switch (csi[3]) {
            case 'A':
              row = Math.max(0, row - (n ?? 1));
              break;
            case 'B':
              row += n ?? 1;
              break;
            case 'C':
              col += n ?? 1;
              break;
            case 'D':
              col = Math.max(0, col - (n ?? 1));
              break;
            case 'G':
              col = Math.max(0, (n ?? 1) - 1);
              break;
            case 'K': {
              const l = line();
              if ((n ?? 0) === 0) l.length = Math.min(l.length, col);
              else if (n === 1) for (let c = 0; c <= col && c < l.length; c++) l[c] = ' ';
              else l.length = 0;
              break;
            }
            case 'J':
              if ((n ?? 0) === 0) {
                line().length = Math.min(line().length, col);
                lines.length = row + 1;
              }
              break;
            default: // SGR colours and the like
          }
        }
        i += csi[0].length;
        continue;
      }
      if (output[i + 1] === '7') saved = { row, col };
      if (output[i + 1] === '8') ({ row, col } = saved);
      i += 2;
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      line();
    } else put(ch);
    i++;
  }
  const text = lines.map((l) => l.join('').replace(/\s+$/, ''));
  while (text.length && text[text.length - 1] === '') text.pop();
  return text;
}
