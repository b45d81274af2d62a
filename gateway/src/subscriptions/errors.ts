import { GraphQLError } from 'graphql';

/**
 * The codes a subscription through the gateway can end with, besides those of the kit (errors.ts) that the
 * subgraphs give (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, NOT_FOUND) and the validation ones:
 *
 * | code                        | when                                                                          |
 * | --------------------------- | ----------------------------------------------------------------------------- |
 * | TOO_MANY_SUBSCRIPTIONS      | the caller (or the whole gateway) already has the most subscriptions allowed  |
 * | SUBSCRIPTION_QUEUE_OVERFLOW | the client read too slowly: more events waited than the queue holds (the      |
 * |                             | events queued before are delivered first; nothing is skipped silently)        |
 * | SUBGRAPH_UNAVAILABLE        | the subgraph serving the subscription went away (restart, lost connection,    |
 * |                             | unanswered ping) or could not be reached: subscribe again                     |
 * | SUPERGRAPH_RELOADED         | the gateway loaded a new supergraph: subscribe again (the plan may differ)    |
 * | SHUTTING_DOWN               | the gateway is stopping: reconnect (to another instance)                      |
 */
export type SubscriptionErrorCode =
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'SUBSCRIPTION_QUEUE_OVERFLOW'
  | 'SUBGRAPH_UNAVAILABLE'
  | 'SUPERGRAPH_RELOADED'
  | 'SHUTTING_DOWN'
  | 'UNAUTHENTICATED'
  | 'BAD_REQUEST';

export function subscriptionError(code: SubscriptionErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}
