/** Parses process output lines that must each be one JSON object; throws naming the first that is not. */
export function parseJsonLines(lines: string[]): Array<Record<string, unknown>> {
  return lines.map((line) => {
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new Error(`not a JSON object line: ${line.slice(0, 200)}`);
  });
}
