import { Module } from '@nestjs/common';
import { CallbackSender } from './callback-sender.service';
import { CallbackUrlPolicy } from './callback-url-policy';
import { DnsResolver } from './dns-resolver';

/** Outbound HTTP: signed callbacks to client URLs, with the address policy that guards them. */
@Module({
  providers: [DnsResolver, CallbackUrlPolicy, CallbackSender],
  exports: [CallbackUrlPolicy, CallbackSender],
})
export class HttpClientModule {}
