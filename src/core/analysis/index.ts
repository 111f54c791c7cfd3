/**
 * Audio analysis and preprocessing (pure TypeScript, streaming, any rate and channel count):
 * BS.1770-4 / EBU R128 loudness and true peak, loudness normalisation and a true-peak limiter,
 * silence detection, tempo and key estimation, DC removal / high-pass / spectral-gating noise
 * reduction. docs/ANALYSIS.md describes the methods and their measured accuracy.
 */
export * from './audio-analyzer';
export * from './biquad';
export { interleavedView, planarView, toDb, type ChannelView, type StreamingAnalyzer } from './channel-view';
export * from './key';
export * from './loudness';
export * from './loudness-normalization';
export * from './noise-reduction';
export * from './preprocess';
export * from './signal-analysis';
export * from './silence';
export * from './tempo';
export * from './true-peak';
