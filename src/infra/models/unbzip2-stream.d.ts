// unbzip2-stream ships no types: it exports a factory for a through stream (bzip2 in, raw bytes out).
declare module 'unbzip2-stream' {
  import type { Duplex } from 'stream';
  function unbzip2Stream(): Duplex;
  export = unbzip2Stream;
}
