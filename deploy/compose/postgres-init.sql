-- Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d).
CREATE ROLE hub LOGIN PASSWORD 'hub';
CREATE DATABASE hub_intake OWNER hub;
CREATE DATABASE hub_routing OWNER hub;
CREATE DATABASE hub_followup OWNER hub;
CREATE DATABASE hub_reporting OWNER hub;
CREATE DATABASE hub_gateway OWNER hub;
