/**
 * @module explorer/compare
 * Two images side by side: the platforms two indexes offer, then for one platform the config
 * fields that differ, the layers shared and not, and the files added, removed and changed in the
 * merged filesystems (whiteouts applied, layer by layer).
 */
import { type Address, atDigest, formatAddress, parseAddress } from './address.js';
import type { FileEntry } from './layer-cache.js';
import { infoOf, listLayer } from './layers.js';
import { ImgdigestError } from './library.js';
import { configModel, type ImageModel, imageModel } from './models.js';
import type { ExplorerState } from './state.js';

export interface CompareSide {
  address: string;
  digest: string;
  kind: 'index' | 'manifest';
  /** The image manifest compared (the platform's child for an index). */
  image: string | null;
}

export interface FieldChange {
  field: string;
  a: string | null;
  b: string | null;
}

export interface FileChange {
  path: string;
  a: FileEntry;
  b: FileEntry;
  what: string[];
}

export interface CompareModel {
  a: CompareSide;
  b: CompareSide;
  platforms: Array<{ platform: string; a: string | null; b: string | null }> | null;
  platform: string | null;
  config: FieldChange[];
  layers: { shared: string[]; onlyA: string[]; onlyB: string[] };
  files: { added: FileEntry[]; removed: FileEntry[]; changed: FileChange[] };
}

function platformsOf(model: ImageModel): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of model.platforms ?? [])
    if (!p.attestation && p.platform && !out.has(p.platform)) out.set(p.platform, p.digest);
  return out;
}

/** The image manifest to compare for one side: itself, or its child for the platform. */
function chosen(model: ImageModel, address: Address, platform: string | null): Address | null {
  if (model.kind === 'manifest') return atDigest(address, model.digest);
  const digest = platform ? platformsOf(model).get(platform) : undefined;
  return digest ? atDigest(address, digest) : null;
}

/** The filesystem after applying layers in order: whiteouts delete what lower layers made. */
export function mergeLayers(layers: FileEntry[][]): Map<string, FileEntry> {
  const fs = new Map<string, FileEntry>();
  const removeTree = (path: string, keepSelf: boolean) => {
    for (const key of [...fs.keys()]) {
      if ((key === path && !keepSelf) || key.startsWith(`${path}/`) || path === '') fs.delete(key);
    }
  };
  for (const entries of layers) {
    for (const e of entries) {
      if (e.whiteout === 'opaque') removeTree(e.target ?? '', true);
      else if (e.whiteout === 'file' && e.target) removeTree(e.target, false);
    }
    for (const e of entries) if (!e.whiteout) fs.set(e.path, e);
  }
  return fs;
}

function differences(a: FileEntry, b: FileEntry): string[] {
  const what: string[] = [];
  if (a.type !== b.type) what.push(`type ${a.type} → ${b.type}`);
  if (a.size !== b.size) what.push(`size ${a.size} → ${b.size}`);
  if ((a.mode & 0o7777) !== (b.mode & 0o7777))
    what.push(`mode ${(a.mode & 0o7777).toString(8)} → ${(b.mode & 0o7777).toString(8)}`);
  if (a.uid !== b.uid || a.gid !== b.gid) what.push(`owner ${a.uid}:${a.gid} → ${b.uid}:${b.gid}`);
  if (a.linkname !== b.linkname) what.push(`link ${a.linkname ?? '-'} → ${b.linkname ?? '-'}`);
  if (what.length === 0 && a.mtime !== b.mtime) what.push('modification time');
  return what;
}

async function filesOf(
  state: ExplorerState,
  image: Address,
  layers: Array<{ digest: string; size: number; mediaType: string }>,
) {
  const listings = await Promise.all(
    layers.map(async (l) => {
      const listing = listLayer(
        state,
        atDigest(image, l.digest),
        infoOf(l.digest, { ...l, digest: l.digest as `${string}:${string}` }),
      );
      await listing.finished;
      if (listing.error) throw listing.error;
      return listing.entries;
    }),
  );
  return mergeLayers(listings);
}

function fieldRows(
  a: Awaited<ReturnType<typeof configModel>>,
  b: Awaited<ReturnType<typeof configModel>>,
): FieldChange[] {
  const rows: FieldChange[] = [];
  const add = (field: string, x: unknown, y: unknown) => {
    const sx = x === null || x === undefined ? null : typeof x === 'string' ? x : JSON.stringify(x);
    const sy = y === null || y === undefined ? null : typeof y === 'string' ? y : JSON.stringify(y);
    if (sx !== sy) rows.push({ field, a: sx, b: sy });
  };
  for (const f of [
    'platform',
    'created',
    'author',
    'user',
    'entrypoint',
    'cmd',
    'workingDir',
    'ports',
    'volumes',
    'stopSignal',
  ] as const) {
    add(f, a[f], b[f]);
  }
  const env = (list: string[]) => new Map(list.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  const ea = env(a.env);
  const eb = env(b.env);
  for (const k of [...new Set([...ea.keys(), ...eb.keys()])].sort()) add(`env ${k}`, ea.get(k), eb.get(k));
  for (const k of [...new Set([...Object.keys(a.labels), ...Object.keys(b.labels)])].sort())
    add(`label ${k}`, a.labels[k], b.labels[k]);
  add('history steps', a.history.length, b.history.length);
  return rows;
}

export async function compareModel(
  state: ExplorerState,
  aText: string,
  bText: string,
  platformWanted: string | undefined,
  signal: AbortSignal,
): Promise<CompareModel> {
  const aAddr = parseAddress(aText);
  const bAddr = parseAddress(bText);
  const [ma, mb] = await Promise.all([imageModel(state, aAddr, signal), imageModel(state, bAddr, signal)]);
  let platforms: CompareModel['platforms'] = null;
  let platform: string | null = platformWanted ?? null;
  if (ma.kind === 'index' || mb.kind === 'index') {
    const pa = platformsOf(ma);
    const pb = platformsOf(mb);
    const all = [...new Set([...pa.keys(), ...pb.keys()])];
    platforms = all.map((p) => ({ platform: p, a: pa.get(p) ?? null, b: pb.get(p) ?? null }));
    if (!platform) {
      const common = all.filter(
        (p) => (ma.kind === 'manifest' || pa.has(p)) && (mb.kind === 'manifest' || pb.has(p)),
      );
      platform = common.includes('linux/amd64') ? 'linux/amd64' : (common[0] ?? null);
    }
  }
  const ia = chosen(ma, aAddr, platform);
  const ib = chosen(mb, bAddr, platform);
  const side = (m: ImageModel, image: Address | null): CompareSide => ({
    address: m.pinnedAddress,
    digest: m.digest,
    kind: m.kind,
    image: image ? formatAddress(image) : null,
  });
  const model: CompareModel = {
    a: side(ma, ia),
    b: side(mb, ib),
    platforms,
    platform,
    config: [],
    layers: { shared: [], onlyA: [], onlyB: [] },
    files: { added: [], removed: [], changed: [] },
  };
  if (!ia || !ib) {
    if (platformWanted)
      throw new ImgdigestError(
        'PLATFORM_NOT_FOUND',
        `both images must offer ${platformWanted} to compare them`,
      );
    return model;
  }
  const [ca, cb, ga, gb] = await Promise.all([
    configModel(state, ia, signal),
    configModel(state, ib, signal),
    imageModel(state, ia, signal),
    imageModel(state, ib, signal),
  ]);
  model.config = fieldRows(ca, cb);
  const la = ga.layers ?? [];
  const lb = gb.layers ?? [];
  const setB = new Set(lb.map((l) => l.digest));
  const setA = new Set(la.map((l) => l.digest));
  model.layers = {
    shared: la.filter((l) => setB.has(l.digest)).map((l) => l.digest),
    onlyA: la.filter((l) => !setB.has(l.digest)).map((l) => l.digest),
    onlyB: lb.filter((l) => !setA.has(l.digest)).map((l) => l.digest),
  };
  const [fa, fb] = await Promise.all([filesOf(state, ia, la), filesOf(state, ib, lb)]);
  for (const [path, e] of fb) {
    const before = fa.get(path);
    if (!before) model.files.added.push(e);
    else {
      const what = differences(before, e);
      if (what.length > 0) model.files.changed.push({ path, a: before, b: e, what });
    }
  }
  for (const [path, e] of fa) if (!fb.has(path)) model.files.removed.push(e);
  const byPath = (x: { path: string }, y: { path: string }) =>
    x.path < y.path ? -1 : x.path > y.path ? 1 : 0;
  model.files.added.sort(byPath);
  model.files.removed.sort(byPath);
  model.files.changed.sort(byPath);
  return model;
}
