DROP TABLE member_service.member_bank_account;
