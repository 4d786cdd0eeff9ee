DROP TABLE IF EXISTS document_service.document;
