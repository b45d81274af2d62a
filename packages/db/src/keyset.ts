/** Where a keyset page of a newest-first list starts: strictly after this row. */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

/**
 * A Prisma `where` for the rows strictly after `position` in (createdAt desc, id desc) order (every row when
 * there is none): combine it with the list's own filter in an `AND`.
 */
export function olderThan(position: KeysetPosition | undefined) {
  if (position === undefined) return {};
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}

/** Newest first, ties broken by id: the order of every paginated list (its cursor is (createdAt, id)). */
export function newestFirst(): [{ createdAt: 'desc' }, { id: 'desc' }] {
  return [{ createdAt: 'desc' }, { id: 'desc' }];
}
