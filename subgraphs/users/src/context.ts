import type { RequestContext } from '@shop/kit';
import type DataLoader from 'dataloader';
import type { UserRecord } from './users.repository';
import type { UsersService } from './users.service';

/** What every users resolver receives: the verified viewer plus per-request loaders and the service. */
export type Context = RequestContext & {
  loaders: { userById: DataLoader<string, UserRecord | null> };
  users: UsersService;
};
