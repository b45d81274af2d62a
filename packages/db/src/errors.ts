/**
 * A write refused by a unique index: the one way repositories report a business conflict (an email or SKU
 * taken). The service decides what the caller sees (a CONFLICT error, or a union result it can branch on).
 */
export class UniqueViolation extends Error {
  constructor(readonly fields: readonly string[]) {
    super(`unique constraint violated on ${fields.join(', ') || 'an index'}`);
    this.name = 'UniqueViolation';
  }
}

/** A Prisma "unique constraint failed" (P2002) error, by shape: each generated client has its own class. */
function uniqueFields(error: unknown): string[] | undefined {
  const candidate = error as {
    name?: string;
    code?: string;
    meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown } } } };
  };
  if (candidate?.name !== 'PrismaClientKnownRequestError' || candidate.code !== 'P2002') return undefined;
  const target = candidate.meta?.target ?? candidate.meta?.driverAdapterError?.cause?.constraint?.fields;
  if (Array.isArray(target)) return target.map(String);
  return typeof target === 'string' ? [target] : [];
}

/** Runs a write; a unique-index refusal comes back as a UniqueViolation naming the columns. */
export async function refuseDuplicates<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const fields = uniqueFields(error);
    if (fields) throw new UniqueViolation(fields);
    throw error;
  }
}

/** A Prisma "record to update not found" (P2025) error, by shape. */
export function isRecordNotFound(error: unknown): boolean {
  const candidate = error as { name?: string; code?: string };
  return candidate?.name === 'PrismaClientKnownRequestError' && candidate.code === 'P2025';
}
