export * from './audio-codec';
export * from './audio-input';
export * from './audio-output';
export * from './audio-tags';
export * from './channels';
export * from './resample';
export * from './sniff';
export * from './temp-path';
export * from './wav';
export * from './wav-info';
export {
  WavFileReader,
  WavFileWriter,
  statAudioFile,
  withFileReader,
  type WavReadOptions,
  type WavWriterOptions,
} from './wav-file';
