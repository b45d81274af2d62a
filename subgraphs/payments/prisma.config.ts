import { defineProjectPrismaConfig } from '@shop/db/prisma-config';

export default defineProjectPrismaConfig();
