import { Injectable } from '@nestjs/common';
import type { InputAudioInfo, ModelSummary, SeparateParams, SeparationResult } from '../../lib/types';

/**
 * Nest face of the separation engine (src/lib/spleeter-engine.ts): decoding, model loading and
 * inference, encoding. The REST layer's job processor calls `separate`; upload validation calls
 * `probe`; request validation calls `resolveModel`.
 *
 * (Being implemented by the lead: signatures are stable.)
 */
@Injectable()
export class EngineService {
  /** Runs one separation to files. Throws AudioProcessingError / ModelError / ValidationError / SeparationError(JOB_CANCELED). */
  async separate(_params: SeparateParams): Promise<SeparationResult> {
    throw new Error('EngineService.separate not implemented yet');
  }

  /** Reads the input's format, rate, channels and duration without decoding it all. */
  async probe(_audioPath: string): Promise<InputAudioInfo> {
    throw new Error('EngineService.probe not implemented yet');
  }

  /** Resolves `name[@version]` to an installed model or throws ModelError MODEL_NOT_INSTALLED. */
  async resolveModel(_name: string): Promise<{ name: string; version?: string; stems: string[] }> {
    throw new Error('EngineService.resolveModel not implemented yet');
  }

  async listModels(): Promise<ModelSummary[]> {
    return [];
  }

  /** Execution provider the engine will use for ONNX models ('cpu', 'cuda', 'webgpu'). */
  get executionProvider(): string {
    return 'cpu';
  }
}
