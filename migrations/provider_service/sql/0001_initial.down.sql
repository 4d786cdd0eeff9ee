DROP TABLE IF EXISTS provider_service.provider_fee_schedule, provider_service.provider_contract,
    provider_service.provider_specialty, provider_service.provider_facility, provider_service.provider;
