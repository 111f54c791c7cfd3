import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { AuditAction } from '../../common/decorators/audit-route';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { PrincipalResponseDto } from './dto/api-key.dto';
import { QuotaService } from './quota.service';

@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly quotas: QuotaService) {}

  @Get('me')
  @AuditAction('auth.whoami', { resourceType: 'principal' })
  @ApiOperation({ summary: 'Who the credentials resolve to, with quota usage' })
  @ApiOkResponse({ type: PrincipalResponseDto })
  @ApiProblemResponses(401)
  async me(@CurrentPrincipal() principal: Principal): Promise<PrincipalResponseDto> {
    const quota = await this.quotas.status(principal);
    return {
      id: principal.id,
      role: principal.role,
      method: principal.method,
      ...(principal.keyId ? { keyId: principal.keyId } : {}),
      quota: { ...quota },
    };
  }
}
