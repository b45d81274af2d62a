import type { Resolvers } from '../generated/resolvers';
import { Mutation } from './mutation';
import { Product } from './product';
import { ProductConnection } from './product-connection';
import { Query } from './query';

/** One file per type; the shared scalars (DateTime, Decimal) are added by the launcher. */
export const resolvers: Resolvers = { Query, Mutation, Product, ProductConnection };
