/**
 * Weights of one Spleeter U-Net (one instrument), in TensorFlow layouts, exactly as stored in the
 * official checkpoints (MODEL-FORMATS A5/A9). Shared by the ONNX graph builder (test models and the
 * checkpoint converter) and the naive reference forward pass used in tests.
 */
export interface ConvWeights {
  /** Conv2D: [kh, kw, in, out]. Conv2DTranspose: [kh, kw, out, in] (TF layout). Row-major. */
  kernel: Float32Array;
  kernelShape: [number, number, number, number];
  bias: Float32Array;
}

export interface BatchNormWeights {
  gamma: Float32Array;
  beta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

export type UnetActivation = 'leaky_relu' | 'relu' | 'elu';

export interface UnetInstrumentWeights {
  instrument: string;
  /** conv2d_{7k..7k+5}: 5x5 stride 2, filters 16,32,64,128,256,512. */
  encoder: ConvWeights[];
  /** batch_normalization_{12k..12k+4} for encoder convs 1..5 (the 6th, 12k+5, is unused). */
  encoderBn: BatchNormWeights[];
  /** conv2d_transpose_{6k..6k+5}: 5x5 stride 2, filters 256,128,64,32,16,1. */
  decoder: ConvWeights[];
  /** batch_normalization_{12k+6..12k+11}, one after each transposed conv's activation. */
  decoderBn: BatchNormWeights[];
  /** conv2d_{7k+6}: 4x4 dilation 2, 2 filters (sigmoid for unet, raw logits for softmax_unet). */
  head: ConvWeights;
}

export interface UnetModelSpec {
  architecture: 'unet' | 'softmax_unet';
  /** Encoder (conv) activation and decoder (deconv) activation. 2stems: leaky_relu(0.2)/relu; 4/5: elu/elu. */
  convActivation: UnetActivation;
  deconvActivation: UnetActivation;
  /** Frequency bins fed to the network (1024, or 1536 for -16kHz). */
  F: number;
  instruments: UnetInstrumentWeights[];
}

/** Filters per encoder / decoder layer (A5). */
export const UNET_ENCODER_FILTERS = [16, 32, 64, 128, 256, 512] as const;
export const UNET_DECODER_FILTERS = [256, 128, 64, 32, 16, 1] as const;
export const BATCH_NORM_EPSILON = 1e-3;
export const LEAKY_RELU_ALPHA = 0.2;
