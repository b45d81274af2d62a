-- One database per subgraph on one local server (docs: shared/design/ARCHITECTURE.md, Topology).
-- Mounted into /docker-entrypoint-initdb.d by docker-compose.yml: the postgres image runs it once,
-- when the data volume is empty. After changing it, recreate the volume: `docker compose down -v`.
-- (cart keeps its data in Redis; gateway has no storage.)
CREATE DATABASE users;
CREATE DATABASE products;
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE inventory;
CREATE DATABASE notifications;
