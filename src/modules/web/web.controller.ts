import {
  Controller,
  Get,
  HttpException,
  HttpStatus,
  NotFoundException,
  Param,
  Req,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/public.decorator';
import { sendWebAsset } from './send-web-asset';
import { WebAssetsService } from './web-assets.service';

/**
 * The browser app's files. Public (the page itself holds no data: it signs in with a key and calls
 * the API like any client) and left out of the OpenAPI document. Client routes live in the URL
 * hash (#/history), so the server needs no catch-all route that would shadow API 404s.
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  constructor(private readonly assets: WebAssetsService) {}

  @Get()
  index(@Req() req: Request, @Res() res: Response): void {
    this.send('/', req, res);
  }

  @Get('favicon.svg')
  favicon(@Req() req: Request, @Res() res: Response): void {
    this.send('/favicon.svg', req, res);
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    this.send(`/assets/${file}`, req, res);
  }

  private send(urlPath: string, req: Request, res: Response): void {
    if (this.assets.status === 'missing' && urlPath === '/') {
      throw new HttpException(
        {
          code: 'WEB_UI_NOT_BUILT',
          message:
            'The web app has not been built: run "npm run build:web" (npm start and npm run build do it).',
        },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
    const asset = this.assets.status === 'ready' ? this.assets.find(urlPath) : undefined;
    if (!asset) throw new NotFoundException(`Cannot GET ${urlPath}`);
    sendWebAsset(req, res, asset);
  }
}
