import { Injectable } from '@nestjs/common';
import { EngineService } from '../engine/engine.service';
import { toAnalysisResponse, type AnalysisResponseDto } from './dto/analysis-response.dto';
import type { UploadedAudio } from './separation.service';
import { UploadInspector } from './upload-inspector.service';

/**
 * POST /v1/analyses: the same admission as a separation (format by content against
 * audio.allowed_formats, duration limit), then one streaming analysis pass. Nothing is stored:
 * the upload's scratch file is deleted by the upload interceptor when the request ends.
 */
@Injectable()
export class AudioAnalysisService {
  constructor(
    private readonly engine: EngineService,
    private readonly inspector: UploadInspector,
  ) {}

  async analyze(upload: UploadedAudio, signal?: AbortSignal): Promise<AnalysisResponseDto> {
    await this.inspector.inspect(upload.path, upload.size);
    const result = await this.engine.analyze(upload.path, { signal });
    return toAnalysisResponse(result, upload.originalName ?? null);
  }
}
