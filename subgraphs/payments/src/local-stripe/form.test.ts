import { describe, expect, it } from 'vitest';
import { canonical, decodeForm } from './form';

describe("Stripe's form encoding", () => {
  it('decodes bracket notation into objects and lists', () => {
    expect(
      decodeForm(
        'amount=1998&metadata[order_id]=o-1&metadata[note]=a%20b&expand[0]=x&expand[1]=y&pmt[]=card',
      ),
    ).toEqual({
      amount: '1998',
      metadata: { order_id: 'o-1', note: 'a b' },
      expand: ['x', 'y'],
      pmt: ['card'],
    });
  });

  it('compares requests whatever the order of their parameters', () => {
    expect(canonical(decodeForm('a=1&b[x]=2&b[y]=3'))).toBe(canonical(decodeForm('b[y]=3&a=1&b[x]=2')));
    expect(canonical(decodeForm('a=1'))).not.toBe(canonical(decodeForm('a=2')));
  });
});
