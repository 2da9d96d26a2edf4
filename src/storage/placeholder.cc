namespace eddy::storage {}
