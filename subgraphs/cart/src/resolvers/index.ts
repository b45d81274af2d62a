import type { Resolvers } from '../generated/resolvers';
import { CartItem } from './cart-item';
import { Mutation } from './mutation';
import { Query } from './query';

/** One file per type that needs resolvers (Cart's fields are the view's own); the launcher adds the scalars. */
export const resolvers: Resolvers = { Query, Mutation, CartItem };
