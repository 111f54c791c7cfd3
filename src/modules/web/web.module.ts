/**
 * Web module: the browser app for people who separate songs (upload, progress, stem mixer,
 * history, admin pages), served at `/` from web/dist. It owns no data and calls the REST API
 * like any other client; see web/README section in the project README.
 */
import { Module } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { WebController } from './web.controller';
import { WEB_DIST_DIR, WebAssetsService } from './web-assets.service';

@Module({
  controllers: [WebController],
  providers: [
    {
      provide: WebAssetsService,
      useFactory: (config: AppConfig) => new WebAssetsService(config, WEB_DIST_DIR),
      inject: [AppConfig],
    },
  ],
})
export class WebModule {}
