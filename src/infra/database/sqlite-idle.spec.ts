import type { DataSource } from 'typeorm';
import { sqliteIdle } from './sqlite-idle';

describe('sqliteIdle', () => {
  const dataSource = (db: { inTransaction: boolean }) =>
    ({ driver: { databaseConnection: db } }) as unknown as DataSource;

  it("waits for another module's transaction to end, then hands over the driver's connection", async () => {
    const db = { inTransaction: true };
    setTimeout(() => (db.inTransaction = false), 30);
    const started = Date.now();
    await expect(sqliteIdle(dataSource(db))).resolves.toBe(db);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('gives up after the timeout with a clear error', async () => {
    jest.useFakeTimers();
    try {
      const pending = sqliteIdle(dataSource({ inTransaction: true }));
      const assertion = expect(pending).rejects.toThrow('SQLite connection busy with another transaction');
      await jest.advanceTimersByTimeAsync(5100);
      await assertion;
    } finally {
      jest.useRealTimers();
    }
  });
});
