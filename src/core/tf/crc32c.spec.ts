import { crc32c, crc32cExtend, maskCrc32c, unmaskCrc32c } from './crc32c';

describe('crc32c', () => {
  it('matches the RFC 3720 / LevelDB test vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('extends incrementally across odd split points (slice-by-8 tail handling)', () => {
    const data = Uint8Array.from({ length: 1001 }, (_, i) => (i * 131 + 7) & 0xff);
    const whole = crc32c(data);
    for (const cut of [0, 1, 7, 8, 9, 500, 1000, 1001]) {
      expect(crc32cExtend(crc32cExtend(0, data.subarray(0, cut)), data.subarray(cut))).toBe(whole);
    }
  });

  it('masks like TF (rotate right 15 + 0xa282ead8) and unmasks back', () => {
    const crc = crc32c(Buffer.from('foo'));
    expect(maskCrc32c(crc)).not.toBe(crc);
    expect(maskCrc32c(maskCrc32c(crc))).not.toBe(crc);
    expect(unmaskCrc32c(maskCrc32c(crc))).toBe(crc);
    expect(unmaskCrc32c(unmaskCrc32c(maskCrc32c(maskCrc32c(crc))))).toBe(crc);
    // Facts from the real Spleeter index: zero / one float32 vectors of length 16.
    expect(maskCrc32c(crc32c(new Uint8Array(64)))).toBe(2035348073);
    expect(maskCrc32c(crc32c(new Uint8Array(new Float32Array(16).fill(1).buffer)))).toBe(3198315111);
  });
});
