from hub_web.app import main

main()
