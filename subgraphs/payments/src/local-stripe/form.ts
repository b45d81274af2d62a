/** A decoded form body: Stripe's bracket notation (`metadata[order_id]=…`, `expand[0]=…`) as nested values. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/**
 * Decodes an `application/x-www-form-urlencoded` body the way Stripe reads the SDK's encoding:
 * `a[b]=1` is `{ a: { b: '1' } }`, `a[0]=x&a[1]=y` is `{ a: ['x', 'y'] }`, `a[]=x` appends.
 */
export function decodeForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!match) continue;
    const path = [
      match[1] as string,
      ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? ''),
    ];
    let node: FormObject | FormValue[] = root;
    for (let index = 0; index < path.length; index++) {
      const segment = path[index] as string;
      const last = index === path.length - 1;
      const nextIsList = !last && /^\d*$/.test(path[index + 1] as string);
      if (Array.isArray(node)) {
        const position = segment === '' ? node.length : Number(segment);
        if (last) node[position] = value;
        else {
          node[position] ??= nextIsList ? [] : {};
          node = node[position] as FormObject | FormValue[];
        }
      } else if (last) {
        node[segment] = value;
      } else {
        node[segment] ??= nextIsList ? [] : {};
        node = node[segment] as FormObject | FormValue[];
      }
    }
  }
  return root;
}

/** A stable text of a request's parameters (keys sorted), to compare two uses of one idempotency key. */
export function canonical(value: FormValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
    .join(',')}}`;
}
