export { Ffmpeg, parseEncoderList } from './ffmpeg';
export { FfmpegDecoder, buildDecodeArgs } from './ffmpeg-decoder';
export { FfmpegEncoder, buildEncodeArgs, type EncoderSupport } from './ffmpeg-encoder';
export { classifyFfmpegFailure, ffmpegDecodeError } from './ffmpeg-errors';
export {
  FfmpegLocator,
  type FfmpegBinaries,
  type FfmpegLocatorOptions,
  type FfmpegSource,
} from './ffmpeg-locator';
export {
  FfmpegProber,
  parseBannerTags,
  parseFfmpegBanner,
  parseFfprobeJson,
  channelsFromLayout,
} from './ffmpeg-probe';
export { runCollect, stderrTail, type RunResult } from './ffmpeg-process';
