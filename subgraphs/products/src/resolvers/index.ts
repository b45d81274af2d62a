import { DateTimeScalar, DecimalScalar } from '@shop/kit';
import type { Resolvers } from '../generated/resolvers';
import { Mutation } from './mutation';
import { Product, ProductConnection } from './product';
import { Query } from './query';

export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  Query,
  Mutation,
  Product,
  ProductConnection,
};
