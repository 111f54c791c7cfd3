/**
 * Strict test doubles: an object whose listed members are the given implementations (wrapped in
 * jest.fn so calls can be asserted) and whose every other member throws when touched, so a service
 * calling a collaborator the test did not expect fails loudly instead of getting `undefined`.
 */
export type Strict<T> = T & {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? jest.Mock<R, A>
    : never;
};

export function strictMock<T extends object>(name: string, impl: Partial<T> = {}): Strict<T> {
  const target: Record<string | symbol, unknown> = {};
  for (const [key, value] of Object.entries(impl)) {
    target[key] = typeof value === 'function' ? jest.fn(value as (...a: unknown[]) => unknown) : value;
  }
  return new Proxy(target, {
    get(t, prop) {
      if (prop in t) return t[prop];
      // Let promise resolution and jest's printing probe the object without tripping.
      if (
        prop === 'then' ||
        prop === 'asymmetricMatch' ||
        prop === 'nodeType' ||
        typeof prop === 'symbol' ||
        prop === 'toJSON'
      ) {
        return undefined;
      }
      throw new Error(`Unexpected call: ${name}.${String(prop)} is not mocked in this test`);
    },
  }) as Strict<T>;
}
