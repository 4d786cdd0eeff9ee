from claims_askes.cli import main

main()
