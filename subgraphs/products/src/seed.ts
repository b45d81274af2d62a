import type { PrismaClient } from './generated/prisma/client';
import { type ProductRecord, ProductsRepository } from './products.repository';

export interface DemoProduct {
  /** Stable: other subgraphs' seeds (inventory) refer to demo products by SKU. */
  sku: string;
  name: string;
  description: string;
  price: string;
}

const DEMO_CURRENCY = 'USD';

export const demoProducts: readonly DemoProduct[] = [
  {
    sku: 'TSHIRT-CLASSIC-BLK',
    name: 'Classic Cotton T-Shirt (Black)',
    description: 'Heavyweight 100% organic cotton crew neck, pre-shrunk. Unisex fit.',
    price: '19.99',
  },
  {
    sku: 'HOODIE-ZIP-GRY',
    name: 'Zip Hoodie (Heather Grey)',
    description: 'Brushed fleece full-zip hoodie with a lined hood and kangaroo pockets.',
    price: '49.99',
  },
  {
    sku: 'JEANS-SLIM-IND',
    name: 'Slim Fit Jeans (Indigo)',
    description: 'Stretch denim, mid rise, slim through the leg. 32" inseam.',
    price: '59.00',
  },
  {
    sku: 'SNEAKER-RUN-WHT',
    name: 'Everyday Running Sneakers',
    description: 'Lightweight mesh upper, cushioned sole, reflective heel tab.',
    price: '89.95',
  },
  {
    sku: 'SOCKS-MERINO-3PK',
    name: 'Merino Wool Socks (3 pack)',
    description: 'Breathable merino blend socks with a reinforced heel and toe.',
    price: '21.00',
  },
  {
    sku: 'MUG-CERAMIC-350',
    name: 'Ceramic Coffee Mug 350 ml',
    description: 'Stoneware mug with a matte glaze. Dishwasher and microwave safe.',
    price: '12.50',
  },
  {
    sku: 'BOTTLE-STEEL-750',
    name: 'Insulated Steel Bottle 750 ml',
    description: 'Double-walled stainless steel: cold for 24 hours, hot for 12.',
    price: '24.99',
  },
  {
    sku: 'BACKPACK-DAY-20L',
    name: 'Daypack 20 L',
    description: 'Water-resistant daypack with a padded laptop sleeve (up to 15").',
    price: '64.00',
  },
  {
    sku: 'HEADPHONES-BT-NC',
    name: 'Wireless Noise-Cancelling Headphones',
    description: 'Over-ear Bluetooth headphones with active noise cancelling and 30 hours of battery.',
    price: '199.99',
  },
  {
    sku: 'CHARGER-USBC-65W',
    name: '65 W USB-C Charger',
    description: 'Compact GaN charger with two USB-C ports and one USB-A port.',
    price: '39.99',
  },
  {
    sku: 'KEYBOARD-MECH-TKL',
    name: 'Mechanical Keyboard (Tenkeyless)',
    description: 'Hot-swappable switches, PBT keycaps, USB-C cable.',
    price: '119.00',
  },
  {
    sku: 'LAMP-DESK-LED',
    name: 'LED Desk Lamp',
    description: 'Dimmable desk lamp with five colour temperatures and a USB charging port.',
    price: '34.50',
  },
  {
    sku: 'NOTEBOOK-A5-DOT',
    name: 'A5 Dotted Notebook',
    description: '192 numbered pages of 100 gsm paper, lay-flat binding.',
    price: '9.99',
  },
  {
    sku: 'YOGA-MAT-6MM',
    name: 'Yoga Mat 6 mm',
    description: 'Non-slip natural rubber mat with a carrying strap.',
    price: '29.99',
  },
];

/**
 * Creates the demo products, or brings those that exist (by SKU) back to their demo values: running it
 * again changes nothing but `updatedAt`. Returns the seeded products in `demoProducts` order.
 */
export async function seedProducts(prisma: PrismaClient): Promise<ProductRecord[]> {
  const repository = new ProductsRepository(prisma);
  const seeded: ProductRecord[] = [];
  for (const product of demoProducts) {
    seeded.push(await repository.upsertBySku({ ...product, currency: DEMO_CURRENCY, active: true }));
  }
  return seeded;
}
