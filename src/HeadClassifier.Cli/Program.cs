Console.WriteLine("headclassifier");
