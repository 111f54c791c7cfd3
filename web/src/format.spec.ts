import { baseName, formatClock, formatEta, formatUntil, realtimeFactor } from './format';

describe('format', () => {
  it('formats clock times', () => {
    expect([formatClock(7.9), formatClock(205), formatClock(3723)]).toEqual(['0:07', '3:25', '1:02:03']);
  });

  it('computes the realtime factor from the input duration and processing time', () => {
    expect(realtimeFactor(60, 2000)).toBe(30);
    expect(realtimeFactor(null, 2000)).toBeNull();
    expect(realtimeFactor(60, 0)).toBeNull();
  });

  it('says how long is left and when files expire', () => {
    expect(formatEta(12.2)).toBe('about 13 s left');
    expect(formatEta(null)).toBe('');
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(formatUntil('2030-01-01T05:00:00Z', now)).toBe('in 5 h');
    expect(formatUntil('2029-12-31T00:00:00Z', now)).toBe('expired');
  });

  it('makes a download name from the uploaded file name', () => {
    expect(baseName('My Song: live.mp3', 'x')).toBe('My Song_ live');
    expect(baseName(null, 'job1234')).toBe('job1234');
  });
});
