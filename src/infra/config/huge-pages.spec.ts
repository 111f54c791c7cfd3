import {
  BATCH_MALLOC_TUNABLES,
  HUGE_PAGES_TUNABLE,
  hugePagesRelaunchEnv,
  RELAUNCH_PARENT_ENV,
  takeRelaunchParent,
  type HugePagesHost,
} from './huge-pages';

describe(hugePagesRelaunchEnv.name, () => {
  const host = (o: Partial<HugePagesHost> = {}): HugePagesHost => ({
    platform: 'linux',
    thpMode: () => 'madvise',
    glibcVersion: () => '2.36',
    ...o,
  });

  it('adds the tunable on Linux with glibc >= 2.35 and THP in madvise mode, keeping other tunables', () => {
    expect(hugePagesRelaunchEnv({ PATH: '/bin' }, host(), false)).toEqual({
      PATH: '/bin',
      GLIBC_TUNABLES: HUGE_PAGES_TUNABLE,
    });
    expect(
      hugePagesRelaunchEnv(
        { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' },
        host({ glibcVersion: () => '2.35' }),
        false,
      ),
    ).toEqual({ GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=131072:${HUGE_PAGES_TUNABLE}` });
    expect(hugePagesRelaunchEnv({}, host({ glibcVersion: () => '3.0' }))).not.toBeNull();
  });

  it('adds the heap tunables for a command that ends when done, never overriding the user', () => {
    expect(hugePagesRelaunchEnv({}, host())).toEqual({
      GLIBC_TUNABLES: [HUGE_PAGES_TUNABLE, ...BATCH_MALLOC_TUNABLES].join(':'),
    });
    expect(BATCH_MALLOC_TUNABLES).toEqual([
      'glibc.malloc.mmap_threshold=33554432',
      'glibc.malloc.top_pad=67108864',
    ]);
    expect(hugePagesRelaunchEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' }, host())).toEqual({
      GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=131072:${HUGE_PAGES_TUNABLE}:glibc.malloc.top_pad=67108864`,
    });
  });

  it("replaces the image's server value for a batch command, unless the user changed it", () => {
    const image =
      'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072:glibc.malloc.hugetlb=1';
    const env = { GLIBC_TUNABLES: image, SPLEETER_IMAGE_GLIBC_TUNABLES: image };
    expect(hugePagesRelaunchEnv(env, host())).toEqual({
      SPLEETER_IMAGE_GLIBC_TUNABLES: image,
      GLIBC_TUNABLES: [HUGE_PAGES_TUNABLE, ...BATCH_MALLOC_TUNABLES].join(':'),
    });
    // A server keeps it; so does a batch command whose user set their own value.
    expect(hugePagesRelaunchEnv(env, host(), false)).toBeNull();
    expect(
      hugePagesRelaunchEnv({ ...env, GLIBC_TUNABLES: `${image}:glibc.malloc.arena_max=2` }, host()),
    ).toBeNull();
  });

  it('does not relaunch when it would change nothing or was turned off', () => {
    // The tunable already set (the child itself, or the user's own choice, 0 included).
    expect(hugePagesRelaunchEnv({ GLIBC_TUNABLES: HUGE_PAGES_TUNABLE }, host())).toBeNull();
    expect(
      hugePagesRelaunchEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' }, host()),
    ).toBeNull();
    for (const off of ['0', 'false', 'OFF', ' no '])
      expect(hugePagesRelaunchEnv({ SPLEETER_HUGE_PAGES: off }, host())).toBeNull();
    expect(hugePagesRelaunchEnv({ SPLEETER_HUGE_PAGES: '1' }, host())).not.toBeNull();
    expect(hugePagesRelaunchEnv({}, host({ platform: 'darwin' }))).toBeNull();
    for (const mode of ['always', 'never', null])
      expect(hugePagesRelaunchEnv({}, host({ thpMode: () => mode }))).toBeNull();
    for (const v of ['2.34', '2.28', null])
      expect(hugePagesRelaunchEnv({}, host({ glibcVersion: () => v }))).toBeNull();
  });
});

describe(takeRelaunchParent.name, () => {
  it('returns the pid once and removes it from the environment', () => {
    const env: NodeJS.ProcessEnv = { [RELAUNCH_PARENT_ENV]: '123', PATH: '/bin' };
    expect(takeRelaunchParent(env)).toBe(123);
    expect(env).toEqual({ PATH: '/bin' });
    expect(takeRelaunchParent(env)).toBeNull();
    for (const bad of ['', 'x', '-1', '1.5'])
      expect(takeRelaunchParent({ [RELAUNCH_PARENT_ENV]: bad })).toBeNull();
  });
});

describe('hugePagesRelaunchEnv on this machine', () => {
  it('reads the kernel mode and glibc version here and gives either no relaunch or the tunable', () => {
    const env = hugePagesRelaunchEnv({}, undefined, false);
    expect(env === null || env.GLIBC_TUNABLES === HUGE_PAGES_TUNABLE).toBe(true);
  });
});
