/**
 * @module test/support/kyverno
 * Enough of Kyverno to test the ClusterPolicy `imgdigest policy export --kyverno` writes, without
 * a cluster:
 *
 * - {@link effectiveRules}: the rules Kyverno runs, with the rules it generates for Pod controllers
 *   ("autogen"), reproduced from kyverno/kyverno pkg/autogen/v1 (autogen.go `CanAutoGen`,
 *   `computeRules`; rule.go `generateRuleForControllers`, `generateCronJobRule`, `updateFields`):
 *   a rule whose match names only `Pod` is copied as `autogen-<name>` for DaemonSet, Deployment,
 *   Job, StatefulSet, ReplicaSet, ReplicationController and as `autogen-cronjob-<name>` for CronJob,
 *   with `request.object.spec` rewritten to the controller's pod template; the annotation
 *   `pod-policies.kyverno.io/autogen-controllers` narrows the controllers (or `none`).
 * - {@link violations}: a validate rule's `foreach` + `deny` evaluated on an object, for the
 *   JMESPath the export uses (paths, `[?field]` filters, multiselect lists and `[]` flattening,
 *   `||`, `&&`, `!`, raw string literals and `regex_match`, which is Go's regexp: the patterns used
 *   are RE2 and JavaScript alike).
 */

type Obj = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: rules are navigated freely, as Kyverno's JSON is
type Rule = any;

export const AUTOGEN_ANNOTATION = 'pod-policies.kyverno.io/autogen-controllers';
const POD_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
];

function resourceDescriptions(block: Rule): Rule[] {
  if (!block) return [];
  return [
    block.resources ?? {},
    ...(block.any ?? []).map((f: Rule) => f.resources ?? {}),
    ...(block.all ?? []).map((f: Rule) => f.resources ?? {}),
  ];
}

function kindsOf(block: Rule): string[] {
  return resourceDescriptions(block).flatMap((r) => r.kinds ?? []);
}

/** `CanAutoGen`: may this policy's rules be generated for Pod controllers? */
function canAutoGen(rules: Rule[]): boolean {
  let needed = false;
  for (const rule of rules) {
    if (rule.generate) return false;
    if (rule.mutate?.patchesJson6902 || (rule.mutate?.foreach ?? []).some((f: Rule) => f.patchesJson6902))
      return false;
    for (const r of [...resourceDescriptions(rule.match), ...resourceDescriptions(rule.exclude)]) {
      const kinds: string[] = r.kinds ?? [];
      if (
        r.name ||
        (r.names ?? []).length ||
        r.selector ||
        r.annotations ||
        (kinds.length > 1 && kinds.includes('Pod'))
      ) {
        return false;
      }
      if (kinds.some((k) => k === 'Pod' || POD_CONTROLLERS.includes(k))) needed = true;
    }
  }
  return needed;
}

function replaceAll(rule: Rule, pairs: [string, string][]): Rule {
  let json = JSON.stringify(rule);
  for (const [from, to] of pairs) json = json.split(from).join(to);
  return JSON.parse(json);
}

const POD_REPLACEMENTS: [string, string][] = [
  ['request.object.spec', 'request.object.spec.template.spec'],
  ['request.oldObject.spec', 'request.oldObject.spec.template.spec'],
  ['request.object.metadata', 'request.object.spec.template.metadata'],
  ['request.oldObject.metadata', 'request.oldObject.spec.template.metadata'],
];
const CRONJOB_REPLACEMENTS: [string, string][] = POD_REPLACEMENTS.map(([from, to]) => [
  from,
  to.replace('.spec.template.', '.spec.jobTemplate.spec.template.'),
]);

const autogenName = (prefix: string, name: string) => `${prefix}-${name}`.slice(0, 63);

/** `generateRule` for a foreach/deny validate rule: new name, kinds swapped where Pod was. */
function generateRule(rule: Rule, name: string, kinds: string[], cronJob: boolean): Rule {
  const out = structuredClone(rule);
  out.name = name;
  const swap = (filters: Rule[]) =>
    filters.map((f) =>
      cronJob || (f.resources?.kinds ?? []).includes('Pod')
        ? { ...f, resources: { ...f.resources, kinds } }
        : f,
    );
  if (out.match.any?.length) out.match.any = swap(out.match.any);
  else if (out.match.all?.length) out.match.all = swap(out.match.all);
  else out.match.resources = { ...out.match.resources, kinds };
  if (out.exclude) {
    if (out.exclude.any?.length) out.exclude.any = swap(out.exclude.any);
    else if (out.exclude.all?.length) out.exclude.all = swap(out.exclude.all);
    else if (out.exclude.resources?.kinds?.length)
      out.exclude.resources = { ...out.exclude.resources, kinds };
  }
  if (out.validate) {
    const v = out.validate;
    out.validate = Object.fromEntries(
      Object.entries({
        message: v.message,
        deny: v.foreach ? undefined : v.deny,
        foreach: v.foreach,
        failureAction: v.failureAction,
        failureActionOverrides: v.failureActionOverrides,
        allowExistingViolations: v.allowExistingViolations,
      }).filter(([, x]) => x !== undefined),
    );
  }
  return out;
}

/** `generateRuleForControllers`: undefined when the rule does not apply to Pods. */
function forControllers(rule: Rule, controllers: string[]): Rule | undefined {
  if (rule.name.startsWith('autogen-') || controllers.length === 0) return undefined;
  const excludeKinds = kindsOf(rule.exclude);
  if (!kindsOf(rule.match).includes('Pod') || (excludeKinds.length > 0 && !excludeKinds.includes('Pod')))
    return undefined;
  return generateRule(rule, autogenName('autogen', rule.name), [...controllers].sort(), false);
}

/** The rules Kyverno evaluates for `policy` (its own, then the generated ones). */
export function effectiveRules(policy: Obj): Rule[] {
  const spec = policy.spec as Rule;
  const rules: Rule[] = spec.rules ?? [];
  if (!canAutoGen(rules)) return rules;
  const annotation = (policy.metadata as Rule)?.annotations?.[AUTOGEN_ANNOTATION] as string | undefined;
  const controllers = annotation === undefined ? POD_CONTROLLERS : annotation.split(',').map((s) => s.trim());
  if (controllers.includes('none')) return rules;
  const generated: Rule[] = [];
  for (const rule of rules) {
    const base = forControllers(
      rule,
      controllers.filter((c) => c !== 'CronJob' && POD_CONTROLLERS.includes(c)),
    );
    if (base) generated.push(replaceAll(base, POD_REPLACEMENTS));
    if (controllers.includes('CronJob')) {
      const viaControllers = forControllers(rule, ['CronJob']);
      if (viaControllers) {
        const cron = generateRule(
          viaControllers,
          autogenName('autogen-cronjob', rule.name),
          ['CronJob'],
          true,
        );
        generated.push(replaceAll(cron, CRONJOB_REPLACEMENTS));
      }
    }
  }
  return [...rules.filter((r) => !r.name.startsWith('autogen-')), ...generated];
}

/** Kyverno's wildcard match (`*` any run, `?` one character). */
export function wildcardMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

function describes(r: Rule, obj: Obj, namespace: string): boolean {
  const kinds: string[] = r.kinds ?? [];
  if (kinds.length > 0 && !kinds.includes(String(obj.kind))) return false;
  const namespaces: string[] = r.namespaces ?? [];
  if (namespaces.length > 0 && !namespaces.some((n) => wildcardMatch(n, namespace))) return false;
  return true;
}

function blockMatches(block: Rule, obj: Obj, namespace: string): boolean {
  if (block.any?.length) return block.any.some((f: Rule) => describes(f.resources ?? {}, obj, namespace));
  if (block.all?.length) return block.all.every((f: Rule) => describes(f.resources ?? {}, obj, namespace));
  return describes(block.resources ?? {}, obj, namespace);
}

/** Does `rule` apply to `obj` in `namespace` (match, and not exclude)? */
export function ruleApplies(rule: Rule, obj: Obj, namespace: string): boolean {
  return (
    blockMatches(rule.match, obj, namespace) && !(rule.exclude && blockMatches(rule.exclude, obj, namespace))
  );
}

// --- a small JMESPath, for the expressions the export writes ---

type Token = { t: 'id' | 'str' | 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let s = '';
      i++;
      while (i < src.length && src[i] !== "'") {
        if (src[i] === '\\' && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else s += src[i++];
      }
      i++;
      out.push({ t: 'str', v: s });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))![0];
      out.push({ t: 'id', v: m });
      i += m.length;
    } else if (['||', '&&', '[?', '[]'].some((op) => src.startsWith(op, i))) {
      out.push({ t: 'op', v: src.slice(i, i + 2) });
      i += 2;
    } else if ('.()!,[]'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else throw new Error(`JMESPath subset: unexpected ${c} in ${src}`);
  }
  return out;
}

const truthy = (v: unknown) =>
  !(
    v === null ||
    v === undefined ||
    v === false ||
    v === '' ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
  );

/** Evaluate `src` against `data` (the subset above). */
export function jmespath(src: string, data: Obj): unknown {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const eat = (v?: string) => {
    const t = toks[p++];
    if (!t || (v !== undefined && t.v !== v)) throw new Error(`JMESPath subset: expected ${v} in ${src}`);
    return t;
  };
  const path = (start: unknown): unknown => {
    let cur = start;
    for (;;) {
      const t = peek();
      if (t?.v === '.') {
        eat('.');
        const id = eat().v;
        cur = Array.isArray(cur)
          ? cur.map((x) => (x as Obj)?.[id]).filter((x) => x !== undefined)
          : (cur as Obj | undefined)?.[id];
      } else if (t?.v === '[?') {
        eat('[?');
        const field = eat().v;
        eat(']');
        cur = Array.isArray(cur) ? cur.filter((x) => truthy((x as Obj)?.[field])) : null;
      } else if (t?.v === '[]') {
        // Flatten: lists are spliced in, nulls dropped (a projection keeps no null results).
        eat('[]');
        cur = Array.isArray(cur)
          ? cur.flatMap((x) => (Array.isArray(x) ? x : [x])).filter((x) => x != null)
          : null;
      } else return cur ?? null;
    }
  };
  const primary = (): unknown => {
    const t = eat();
    if (t.t === 'str') return t.v;
    if (t.v === '(') {
      const v = or();
      eat(')');
      return v;
    }
    if (t.v === '[') {
      const items: unknown[] = [or()];
      while (peek()?.v === ',') {
        eat(',');
        items.push(or());
      }
      eat(']');
      return path(items);
    }
    if (t.t === 'id' && peek()?.v === '(') {
      eat('(');
      const args: unknown[] = [or()];
      while (peek()?.v === ',') {
        eat(',');
        args.push(or());
      }
      eat(')');
      if (t.v !== 'regex_match') throw new Error(`JMESPath subset: no function ${t.v}`);
      return new RegExp(String(args[0])).test(String(args[1]));
    }
    if (t.t === 'id') return path(data[t.v]);
    throw new Error(`JMESPath subset: unexpected ${t.v} in ${src}`);
  };
  const unary = (): unknown => {
    if (peek()?.v === '!') {
      eat('!');
      return !truthy(unary());
    }
    return primary();
  };
  const and = (): unknown => {
    let v = unary();
    while (peek()?.v === '&&') {
      eat('&&');
      const r = unary();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): unknown => {
    let v = and();
    while (peek()?.v === '||') {
      eat('||');
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  if (p !== toks.length) throw new Error(`JMESPath subset: trailing input in ${src}`);
  return v;
}

/** Kyverno variable substitution: a string that is one `{{ }}` becomes its value, else text. */
export function substitute(value: unknown, data: Obj): unknown {
  if (typeof value !== 'string') return value;
  const whole = /^\{\{(.*)\}\}$/s.exec(value.trim());
  if (whole && !whole[1]!.includes('{{')) return jmespath(whole[1]!, data);
  return value.replace(/\{\{(.*?)\}\}/g, (_, e: string) => String(jmespath(e, data)));
}

function condition(c: Rule, data: Obj): boolean {
  const key = substitute(c.key, data);
  const value = substitute(c.value, data);
  switch (c.operator) {
    case 'Equals':
      return key === value;
    case 'NotEquals':
      return key !== value;
    default:
      throw new Error(`condition operator ${c.operator} not supported here`);
  }
}

function conditions(block: Rule, data: Obj): boolean {
  if (!block) return true;
  const all: Rule[] = block.all ?? [];
  const any: Rule[] = block.any ?? [];
  return all.every((c) => condition(c, data)) && (any.length === 0 || any.some((c) => condition(c, data)));
}

/** The messages of every element a validate rule's foreach denies in `obj`. */
export function violations(rule: Rule, obj: Obj): string[] {
  const out: string[] = [];
  for (const f of rule.validate?.foreach ?? []) {
    const elements = jmespath(f.list, { request: { object: obj } });
    for (const element of Array.isArray(elements) ? elements : []) {
      const data = { request: { object: obj }, element };
      if (!conditions(f.preconditions, data)) continue;
      if (conditions(f.deny?.conditions, data)) out.push(String(substitute(rule.validate.message, data)));
    }
  }
  return out;
}
