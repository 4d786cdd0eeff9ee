DROP TABLE IF EXISTS authorization_service.authorization;
