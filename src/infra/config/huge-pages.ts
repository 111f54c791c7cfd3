/**
 * Transparent huge pages for the process's malloc: whether the CLI should start itself again with
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (glibc ≥ 2.35), which makes glibc ask the kernel for
 * 2 MiB pages (madvise(MADV_HUGEPAGE)) for its large blocks. Where the kernel's THP mode is
 * `madvise` (the usual default), onnxruntime's arena and the per-call tensors are otherwise
 * backed by 4 KiB pages: every new block costs a page fault per 4 KiB (expensive in a VM) and the
 * convolutions run with many more TLB misses. Measured on the 2-core development machine, 180 s
 * separated on 2 threads, three interleaved pairs: the CLI 7.3–7.6 → 6.4–6.7 s CPU and 4.1–4.3 →
 * 3.6–3.7 s wall, peak RSS +2 % (`npm run bench`, see the README).
 *
 * A command that ends when its work is done (not `serve`) also gets `BATCH_MALLOC_TUNABLES`: glibc
 * then keeps 64 MiB at the top of each heap when it grows or trims it, and serves blocks up to
 * 32 MiB from its heaps instead of mapping each one. Without them onnxruntime's per-call buffers and
 * the separation's arrays were returned to the kernel after use and faulted in (and zeroed) again
 * on the next call: about 58,000 page faults per 180 s separation, against 15,000 with them. Three
 * interleaved runs of the CLI on 180 s, with / without: 3.18–3.27 / 3.48–3.69 s wall, 5.65–5.77 /
 * 6.17–6.50 s CPU, peak RSS 592–602 / 567–588 MiB. A server keeps the default, so that memory goes
 * back to the kernel when it idles.
 *
 * glibc reads its tunables only when a process starts, so the setting needs a new process; the
 * images set it in their environment instead. Nothing is relaunched when the tunable is already
 * set (to any value), when `SPLEETER_HUGE_PAGES=0`, off Linux, without glibc ≥ 2.35, or when the
 * kernel's mode is not `madvise` (`always` already gives huge pages, `never` none).
 *
 * The images' value is a server's (`mmap_threshold=131072`: freed blocks go back to the kernel at
 * once, for a low idle footprint), which costs a batch command page faults on every model call.
 * The images also put that value in `SPLEETER_IMAGE_GLIBC_TUNABLES`; while `GLIBC_TUNABLES` still
 * equals it (the user has not set their own), a batch command run in the image is relaunched as
 * if nothing were set.
 */
import { readFileSync } from 'fs';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';
/** Added for commands that end when done (see the file comment); each only if not set already. */
export const BATCH_MALLOC_TUNABLES: readonly string[] = [
  'glibc.malloc.mmap_threshold=33554432',
  'glibc.malloc.top_pad=67108864',
];
/** Set by the relaunching process for its child: its own pid, which the child watches. */
export const RELAUNCH_PARENT_ENV = 'SPLEETER_RELAUNCH_PARENT';
/** Set by the images to their own GLIBC_TUNABLES value (see the file comment). */
export const IMAGE_TUNABLES_ENV = 'SPLEETER_IMAGE_GLIBC_TUNABLES';
const THP_MODE_FILE = '/sys/kernel/mm/transparent_hugepage/enabled';

export interface HugePagesHost {
  platform: NodeJS.Platform;
  /** The THP mode the kernel selects ('always' | 'madvise' | 'never'), null when unknown. */
  thpMode(): string | null;
  /** glibc's runtime version ('2.36'), null without glibc (e.g. musl). */
  glibcVersion(): string | null;
}

const thisHost: HugePagesHost = {
  platform: process.platform,
  thpMode: () => {
    try {
      return /\[(\w+)\]/.exec(readFileSync(THP_MODE_FILE, 'utf8'))?.[1] ?? null;
    } catch {
      return null;
    }
  },
  glibcVersion: () => {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
      ?.header;
    return header?.glibcVersionRuntime ?? null;
  },
};

/**
 * The environment to start the CLI again with, or null when this process should just run (see the
 * file comment). `batch`: the command ends when its work is done (false for a server).
 */
export function hugePagesRelaunchEnv(
  env: NodeJS.ProcessEnv = process.env,
  host: HugePagesHost = thisHost,
  batch = true,
): NodeJS.ProcessEnv | null {
  if (host.platform !== 'linux') return null;
  if (['0', 'false', 'off', 'no'].includes((env.SPLEETER_HUGE_PAGES ?? '').trim().toLowerCase())) return null;
  const imageDefault = env[IMAGE_TUNABLES_ENV];
  // The image's server value, untouched: a batch command starts from nothing instead.
  const tunables =
    batch && imageDefault && env.GLIBC_TUNABLES === imageDefault ? '' : (env.GLIBC_TUNABLES ?? '');
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return null;
  if (host.thpMode() !== 'madvise') return null;
  const [major, minor] = (host.glibcVersion() ?? '').split('.').map(Number);
  if (!(major > 2 || (major === 2 && minor >= 35))) return null;
  const keys = new Set(tunables.split(':').map((t) => t.split('=')[0]));
  const added = [
    HUGE_PAGES_TUNABLE,
    ...(batch ? BATCH_MALLOC_TUNABLES.filter((t) => !keys.has(t.split('=')[0])) : []),
  ];
  return { ...env, GLIBC_TUNABLES: [...(tunables ? [tunables] : []), ...added].join(':') };
}

/**
 * In a relaunched CLI: the pid of the process that started it (and removes the variable, so that
 * processes this one starts do not inherit it); null otherwise.
 */
export function takeRelaunchParent(env: NodeJS.ProcessEnv = process.env): number | null {
  const value = env[RELAUNCH_PARENT_ENV];
  delete env[RELAUNCH_PARENT_ENV];
  const pid = Number(value);
  return value && Number.isInteger(pid) && pid > 0 ? pid : null;
}
