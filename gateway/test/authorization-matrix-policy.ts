/**
 * Who may call each root operation of the supergraph, and each entity type of each subgraph: the declared
 * policy the authorisation matrix (authorization-matrix.e2e.test.ts) checks through the gateway and directly
 * against the subgraphs. A root field or entity type without a line here fails the matrix.
 *
 * - public: anyone, anonymous too.
 * - authenticated: any signed-in caller, acting on their own things (their cart, their orders, their account).
 * - owner: customer A's object (`touches`); customer B is refused, admins too unless `adminToo`.
 * - admin: admins only.
 */
export type Access = 'public' | 'authenticated' | 'owner' | 'admin';

export type Caller = 'anonymous' | 'customerA' | 'customerB' | 'admin';
export const callers: readonly Caller[] = ['anonymous', 'customerA', 'customerB', 'admin'];

/** A signed-in account of the matrix. */
export interface Account {
  token: string;
  refreshToken: string;
  email: string;
  password: string;
  userId: string;
}

/** What exists before the matrix runs: A's objects, and things every caller may name. */
export interface Fixtures {
  accounts: Record<Exclude<Caller, 'anonymous'>, Account> & {
    /** The account an anonymous caller signs in to (login, refreshToken, logout are public). */
    spare: Account;
  };
  /** An active product with stock. */
  productId: string;
  inventoryId: string;
  /** A product an admin deactivated (visible to admins only), with no inventory item yet. */
  inactiveProductId: string;
  /** A guest cart holding the product (any holder of its id may use it). */
  guestCartId: string;
  /** A's order, its payment and the notification it caused. */
  orderId: string;
  paymentId: string;
  notificationId: string;
  /** A new session of an account (for operations that spend a refresh token). */
  freshSession: (account: Account) => Promise<{ refreshToken: string }>;
}

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
}

export interface Policy {
  access: Access;
  /** owner: what of A's the call touches. */
  touches?: 'order' | 'payment' | 'notification' | 'account' | 'orders of the user';
  /** owner: admins may as well. */
  adminToo?: boolean;
  /** Codes that still mean "allowed, refused on the merits" for an allowed caller (an item not in their cart). */
  allowedCodes?: readonly string[];
  operation: (fixtures: Fixtures, caller: Caller) => Operation | Promise<Operation>;
}

const ADDRESS = { street: '1 Matrix Way', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' };
const unique = () => Math.random().toString(36).slice(2, 10);
/** The account a caller acts as for public account operations (anonymous: the spare account). */
const accountOf = (fixtures: Fixtures, caller: Caller): Account =>
  caller === 'anonymous' ? fixtures.accounts.spare : fixtures.accounts[caller];

/** Every root field of the composed supergraph. */
export const operations: Record<'Query' | 'Mutation' | 'Subscription', Record<string, Policy>> = {
  Query: {
    cart: { access: 'public', operation: () => ({ query: '{ cart { id guest itemCount } }' }) },
    inventoryItems: {
      access: 'admin',
      operation: () => ({ query: '{ inventoryItems(first: 2) { edges { node { id sku } } } }' }),
    },
    inventoryByProduct: {
      access: 'public',
      operation: (f) => ({
        query: 'query($p: ID!) { inventoryByProduct(productId: $p) { id availableQuantity } }',
        variables: { p: f.productId },
      }),
    },
    myNotifications: {
      access: 'authenticated',
      operation: () => ({ query: '{ myNotifications(first: 5) { edges { node { id recipient } } } }' }),
    },
    notification: {
      access: 'owner',
      touches: 'notification',
      adminToo: true,
      operation: (f) => ({
        query: 'query($id: ID!) { notification(id: $id) { id recipient subject } }',
        variables: { id: f.notificationId },
      }),
    },
    allNotifications: {
      access: 'admin',
      operation: () => ({ query: '{ allNotifications(first: 5) { edges { node { id recipient } } } }' }),
    },
    order: {
      access: 'owner',
      touches: 'order',
      adminToo: true,
      operation: (f) => ({
        query: 'query($id: ID!) { order(id: $id) { id status total { amount } } }',
        variables: { id: f.orderId },
      }),
    },
    myOrders: {
      access: 'authenticated',
      operation: () => ({ query: '{ myOrders(first: 5) { totalCount edges { node { id } } } }' }),
    },
    orders: {
      access: 'admin',
      operation: () => ({ query: '{ orders(first: 5) { edges { node { id } } } }' }),
    },
    payment: {
      access: 'owner',
      touches: 'payment',
      adminToo: true,
      operation: (f) => ({
        query: 'query($id: ID!) { payment(id: $id) { id status amount { amount } } }',
        variables: { id: f.paymentId },
      }),
    },
    paymentByOrder: {
      access: 'owner',
      touches: 'payment',
      adminToo: true,
      operation: (f) => ({
        query: 'query($id: ID!) { paymentByOrder(orderId: $id) { id status } }',
        variables: { id: f.orderId },
      }),
    },
    product: {
      access: 'public',
      operation: (f) => ({
        query: 'query($id: ID!) { product(id: $id) { id name } }',
        variables: { id: f.productId },
      }),
    },
    products: {
      access: 'public',
      operation: () => ({ query: '{ products(first: 2) { totalCount edges { node { id } } } }' }),
    },
    me: { access: 'authenticated', operation: () => ({ query: '{ me { id email role } }' }) },
  },
  Mutation: {
    addCartItem: {
      access: 'public',
      operation: (f) => ({
        query: 'mutation($p: ID!) { addCartItem(productId: $p, quantity: 1) { id itemCount } }',
        variables: { p: f.productId },
      }),
    },
    updateCartItem: {
      access: 'authenticated',
      allowedCodes: ['NOT_FOUND'],
      operation: (f) => ({
        query: 'mutation($p: ID!) { updateCartItem(productId: $p, quantity: 2) { id itemCount } }',
        variables: { p: f.productId },
      }),
    },
    removeCartItem: {
      access: 'authenticated',
      allowedCodes: ['NOT_FOUND'],
      operation: (f) => ({
        query: 'mutation($p: ID!) { removeCartItem(productId: $p) { id itemCount } }',
        variables: { p: f.productId },
      }),
    },
    clearCart: {
      access: 'authenticated',
      operation: () => ({ query: 'mutation { clearCart { id itemCount } }' }),
    },
    mergeGuestCart: {
      access: 'authenticated',
      operation: (f) => ({
        query: 'mutation($g: ID!) { mergeGuestCart(guestCartId: $g) { id itemCount } }',
        variables: { g: f.guestCartId },
      }),
    },
    createInventory: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($i: CreateInventoryInput!) { createInventory(input: $i) { id } }',
        variables: { i: { productId: f.inactiveProductId, sku: `MX-${unique()}`, availableQuantity: 3 } },
      }),
    },
    updateInventory: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { updateInventory(id: $id, input: { reorderLevel: 3 }) { id } }',
        variables: { id: f.inventoryId },
      }),
    },
    adjustStock: {
      access: 'admin',
      operation: (f) => ({
        query: `mutation($id: ID!) {
          adjustStock(inventoryId: $id, input: { quantity: 1, type: PURCHASE }) { id availableQuantity } }`,
        variables: { id: f.inventoryId },
      }),
    },
    retryNotification: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { retryNotification(id: $id) { id status } }',
        variables: { id: f.notificationId },
      }),
    },
    placeOrder: {
      access: 'authenticated',
      operation: (f) => ({
        query: 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }',
        variables: { i: { items: [{ productId: f.productId, quantity: 1 }], shippingAddress: ADDRESS } },
      }),
    },
    checkout: {
      access: 'authenticated',
      operation: () => ({
        query: 'mutation($i: CheckoutInput!) { checkout(input: $i) { id status } }',
        variables: { i: { shippingAddress: ADDRESS } },
      }),
    },
    cancelOrder: {
      access: 'owner',
      touches: 'order',
      adminToo: true,
      operation: (f) => ({
        query: 'mutation($id: ID!) { cancelOrder(id: $id) { id status } }',
        variables: { id: f.orderId },
      }),
    },
    shipOrder: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { shipOrder(id: $id) { id status } }',
        variables: { id: f.orderId },
      }),
    },
    deliverOrder: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { deliverOrder(id: $id) { id status } }',
        variables: { id: f.orderId },
      }),
    },
    createPaymentIntent: {
      // Only the customer who placed the order pays for it (an admin neither).
      access: 'owner',
      touches: 'payment',
      operation: (f) => ({
        query: `mutation($id: ID!, $key: String!) {
          createPaymentIntent(orderId: $id, idempotencyKey: $key) { payment { id } clientSecret } }`,
        variables: { id: f.orderId, key: `matrix-${unique()}` },
      }),
    },
    capturePayment: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { capturePayment(paymentId: $id) { id status } }',
        variables: { id: f.paymentId },
      }),
    },
    refundPayment: {
      access: 'admin',
      operation: (f) => ({
        query: 'mutation($id: ID!) { refundPayment(paymentId: $id, amount: "1.00") { id status } }',
        variables: { id: f.paymentId },
      }),
    },
    createProduct: {
      access: 'admin',
      operation: () => ({
        query: 'mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }',
        variables: { i: { name: 'Matrix product', sku: `MX-${unique()}`, price: '3.00' } },
      }),
    },
    updateProduct: {
      access: 'admin',
      operation: (f) => ({
        query:
          'mutation($id: ID!) { updateProduct(id: $id, input: { name: "Renamed by the matrix" }) { id } }',
        variables: { id: f.inactiveProductId },
      }),
    },
    register: {
      access: 'public',
      operation: () => ({
        query: 'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }',
        variables: {
          i: { email: `matrix-${unique()}@example.com`, password: 'a matrix passphrase', name: 'Matrix' },
        },
      }),
    },
    login: {
      access: 'public',
      operation: (f, caller) => {
        const account = accountOf(f, caller);
        return {
          query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { id } } }',
          variables: { e: account.email, p: account.password },
        };
      },
    },
    refreshToken: {
      access: 'public',
      operation: async (f, caller) => ({
        query: 'mutation($t: String!) { refreshToken(refreshToken: $t) { user { id } } }',
        variables: { t: (await f.freshSession(accountOf(f, caller))).refreshToken },
      }),
    },
    logout: {
      // Ends the caller's fixture session (its access token stays valid until it expires; nothing else uses it).
      access: 'public',
      operation: (f, caller) => ({
        query: 'mutation($t: String!) { logout(refreshToken: $t) }',
        variables: { t: accountOf(f, caller).refreshToken },
      }),
    },
    changePassword: {
      // The caller's own account; a wrong current password is an answer (WrongCurrentPassword), nothing changes.
      access: 'authenticated',
      operation: () => ({
        query: `mutation { changePassword(currentPassword: "not the password", newPassword: "a new passphrase!") {
          __typename } }`,
      }),
    },
  },
  Subscription: {
    lowStockAlerts: {
      access: 'admin',
      operation: () => ({ query: 'subscription { lowStockAlerts { availableQuantity } }' }),
    },
    inventoryChanged: {
      access: 'public',
      operation: (f) => ({
        query: 'subscription($p: ID!) { inventoryChanged(productId: $p) { availableQuantity } }',
        variables: { p: f.productId },
      }),
    },
    notificationReceived: {
      access: 'authenticated',
      operation: () => ({ query: 'subscription { notificationReceived { id } }' }),
    },
    orderStatusChanged: {
      access: 'owner',
      touches: 'order',
      adminToo: true,
      operation: (f) => ({
        query: 'subscription($id: ID!) { orderStatusChanged(orderId: $id) { to } }',
        variables: { id: f.orderId },
      }),
    },
    paymentStatusChanged: {
      access: 'owner',
      touches: 'payment',
      adminToo: true,
      operation: (f) => ({
        query: 'subscription($id: ID!) { paymentStatusChanged(orderId: $id) { to } }',
        variables: { id: f.orderId },
      }),
    },
  },
};

/** A representation of A's (or a restricted) object and what to select of it, per `subgraph.Type`. */
export interface EntityPolicy extends Omit<Policy, 'operation'> {
  representation: (fixtures: Fixtures) => Record<string, unknown>;
  selection: string;
}

/** Every resolvable entity type of every subgraph, sent straight to it as `_entities`. */
export const entities: Record<string, EntityPolicy> = {
  'users.User': {
    access: 'owner',
    touches: 'account',
    adminToo: true,
    representation: (f) => ({ __typename: 'User', id: f.accounts.customerA.userId }),
    selection: 'id email',
  },
  'products.Product': {
    // The inactive product: admins only (and the gateway's signed plans, not exercised here).
    access: 'admin',
    representation: (f) => ({ __typename: 'Product', id: f.inactiveProductId }),
    selection: 'id name active',
  },
  'inventory.InventoryItem': {
    access: 'public',
    representation: (f) => ({ __typename: 'InventoryItem', id: f.inventoryId }),
    selection: 'id availableQuantity',
  },
  'inventory.Product': {
    access: 'public',
    representation: (f) => ({ __typename: 'Product', id: f.productId }),
    selection: 'inStock inventory { id }',
  },
  'orders.Order': {
    access: 'owner',
    touches: 'order',
    adminToo: true,
    representation: (f) => ({ __typename: 'Order', id: f.orderId }),
    selection: 'id status total { amount }',
  },
  'orders.User': {
    access: 'owner',
    touches: 'orders of the user',
    adminToo: true,
    representation: (f) => ({ __typename: 'User', id: f.accounts.customerA.userId }),
    selection: 'orders(first: 5) { totalCount edges { node { id } } }',
  },
  'payments.Payment': {
    access: 'owner',
    touches: 'payment',
    adminToo: true,
    representation: (f) => ({ __typename: 'Payment', id: f.paymentId }),
    selection: 'id status amount { amount }',
  },
  'payments.Order': {
    access: 'owner',
    touches: 'payment',
    adminToo: true,
    representation: (f) => ({ __typename: 'Order', id: f.orderId }),
    selection: 'payment { id status }',
  },
};

/** Whether the policy lets `caller` through. */
export function allows(policy: Pick<Policy, 'access' | 'adminToo'>, caller: Caller): boolean {
  switch (policy.access) {
    case 'public':
      return true;
    case 'authenticated':
      return caller !== 'anonymous';
    case 'owner':
      return caller === 'customerA' || (caller === 'admin' && policy.adminToo === true);
    case 'admin':
      return caller === 'admin';
  }
}

/** Whether an answer to `caller` may contain A's private identifiers (A's own, or an admin's view of them). */
export function maySeeA(policy: Pick<Policy, 'access' | 'adminToo'>, caller: Caller): boolean {
  if (caller === 'customerA') return true;
  return (
    caller === 'admin' && (policy.access === 'admin' || (policy.access === 'owner' && !!policy.adminToo))
  );
}
