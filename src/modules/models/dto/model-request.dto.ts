import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';

const toBool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ModelInstallCreateDto {
  /** Install a new version even if one is installed */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  force?: boolean;

  /** Make the new version active when it validates */
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  activate?: boolean;
}

export class ModelListQueryDto {
  /** Only models usable without a download */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  installed?: boolean;
}

/** multipart/form-data: `manifest` (JSON text) + one or more `files` (*.onnx). */
export class ModelUploadDto {
  @ApiProperty({
    description:
      'JSON manifest: name, kind (spleeter|mdx), stems, sample_rate, spleeter{F,architecture,…,files} or mdx{…}',
  })
  @IsString()
  @MaxLength(64 * 1024)
  manifest!: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  activate?: boolean;
}
