/** The enabled cache tiers (CacheTier[], ordered l1 → l3): several real implementations, hence a token. */
export const CACHE_TIERS = Symbol('CACHE_TIERS');
