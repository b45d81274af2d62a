import { createByIdLoader, type RequestContext } from '@shop/kit';
import type DataLoader from 'dataloader';
import type { UserRecord, UsersRepository } from './users.repository';
import type { UsersService } from './users.service';

/** What every users resolver receives: the verified viewer plus per-request loaders and the service. */
export type Context = RequestContext & {
  loaders: { userById: DataLoader<string, UserRecord | null> };
  users: UsersService;
};

/** A fresh context per request (and per subscription operation): loaders never outlive their caller. */
export function createContext(users: UsersService, repository: UsersRepository) {
  return (base: RequestContext): Context => ({
    ...base,
    users,
    loaders: { userById: createByIdLoader((ids) => repository.findUsersByIds(ids)) },
  });
}
